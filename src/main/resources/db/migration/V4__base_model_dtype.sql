-- The dtype a base model is served in (auto, bfloat16, float16, float32). Rows from before it was chosen served in
-- float32, which stays their value.
alter table base_models add column dtype text not null default 'float32';
