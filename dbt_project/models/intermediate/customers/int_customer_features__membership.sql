{#- CRM membership state (level, opt-ins) per customer on each day a member record arrived;
    customer_features carries the latest one forward. -#}
with identity as (
    select node, customer_id from {{ ref('identity_map') }} where valid_to is null
),

records as (
    select
        identity.customer_id,
        members.file_date as d,
        members.level,
        members.registered_date,
        members.optin_sms,
        members.optin_email,
        members.optin_wechat,
        members.optin_app_push,
        row_number() over (
            partition by identity.customer_id, members.file_date
            order by members.updated_at desc, members.member_key
        ) as rank_in_day
    from {{ ref('stg_lake__members') }} as members
    join identity on identity.node = {{ node_key('member_id', 'members.member_id') }}
    where members.file_date < {{ window_end() }}
),

final as (
    select
        customer_id,
        d,
        level as member_level,
        registered_date,
        optin_sms,
        optin_email,
        optin_wechat,
        optin_app_push
    from records
    where rank_in_day = 1
)

select * from final
