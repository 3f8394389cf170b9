-- +goose Up
-- (tables of this part of the schema come here)
SELECT 1;

-- +goose Down
SELECT 1;
