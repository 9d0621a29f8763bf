with source as (
    select * from {{ source('lake', 'events') }}
    where feed <> '_none'
),

final as (
    select
        {{ dbt.concat(["feed", "':'", "event_id"]) }} as event_key,
        event_id,
        channel,
        feed,
        file_date,
        event_ts,
        cast(event_ts as date) as event_date,
        event_type,
        platform,
        category,
        quantity,
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
