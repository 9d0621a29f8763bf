select
    feed,
    file_date,
    source_file,
    source_row,
    reason,
    raw_record
from {{ source('lake', 'quarantine') }}
where feed <> '_none'
