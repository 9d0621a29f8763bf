{#- Rename, cast and normalise: nothing else happens in staging. -#}
with source as (
    select * from {{ source('lake', 'order_lines') }}
    where feed <> '_none'
),

final as (
    select
        {{ dbt.concat(["channel", "':'", "order_id"]) }} as order_key,
        order_id,
        cast(line_no as integer) as line_no,
        channel,
        feed,
        file_date,
        order_ts,
        cast(order_ts as date) as order_date,
        status,
        cast(line_amount as {{ dbt.type_numeric() }}) as line_amount,
        cast(coalesce(refund_amount, case when status = 'refunded' then line_amount else 0 end)
            as {{ dbt.type_numeric() }}) as refund_amount,
        coalesce(quantity, 1) as quantity,
        sku,
        coalesce(category, 'unknown') as category,
        store_id,
        {{- normalized_identifiers('id_') }},
        source_file,
        source_row
    from source
)

select * from final
