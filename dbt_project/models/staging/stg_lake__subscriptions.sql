with source as (
    select * from {{ source('lake', 'subscriptions') }}
    where feed <> '_none'
),

final as (
    select
        {{ normalize_id('subscription_id') }} as subscription_key,
        channel,
        feed,
        file_date,
        updated_at,
        status,
        plan,
        seats,
        contract_value,
        term_months,
        start_date,
        renewal_date,
        {{- normalized_identifiers('id_') }},
        source_file,
        source_row
    from source
)

select * from final
