-- +goose Up
-- What lets several instances share one bot (package cluster). The advisory locks it takes (leader,
-- poller, one per chat) need no table.

-- telegram_updates: every update an instance took to handle, per bot (the number before the colon of
-- the bot token), so that an update Telegram delivers twice, to one instance or to two, is handled once
-- (INSERT ... ON CONFLICT DO NOTHING: the second insert of an id changes no row). Telegram keeps an
-- update for at most a day, so rows older than a day are deleted (by the instances, as they insert).
CREATE TABLE telegram_updates (
    bot_id    bigint      NOT NULL,
    update_id bigint      NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bot_id, update_id)
);
CREATE INDEX telegram_updates_seen_at ON telegram_updates (seen_at);

-- +goose Down
DROP TABLE telegram_updates;
