with source as (
    select * from {{ source('lake', 'members') }}
    where feed <> '_none'
),

final as (
    select
        {{ normalize_id('member_id') }} as member_key,
        channel,
        feed,
        file_date,
        updated_at,
        registered_at,
        cast(registered_at as date) as registered_date,
        level,
        birthday,
        optin_sms,
        optin_email,
        optin_wechat,
        optin_app_push,
        {{- normalized_identifiers('id_') }},
        source_file,
        source_row
    from source
)

select * from final
