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
        {{ normalize_phone('id_phone') }} as phone,
        {{ normalize_email('id_email') }} as email,
        {{ normalize_id('id_openid') }} as openid,
        {{ normalize_id('id_unionid') }} as unionid,
        {{ normalize_id('id_member_id') }} as member_id,
        {{ normalize_id('id_buyer_id') }} as buyer_id,
        {{ normalize_id('id_device_id') }} as device_id,
        source_file,
        source_row
    from source
)

select * from final
