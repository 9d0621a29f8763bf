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
        {{- normalized_identifiers('id_') }},
        source_file,
        source_row
    from source
)

select * from final
