-- +goose Up
-- The core of the schema: the database's own record, users and what belongs to them, the catalogue.
-- Records that the program reads and writes whole are kept as JSON (doc, the same encoding as the bbolt
-- backend's values); the columns beside doc are the keys and the fields that queries filter or sort on,
-- kept in step with doc by every write.

-- meta is one row: the visitor salt (32 random bytes, made by the first Open).
CREATE TABLE meta (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    salt bytea   NOT NULL
);

-- users: affiliate.User in doc. digest_handled is the local date ("2006-01-02") of the last digest
-- handled for the user, "" for none; the digest schedule reads (time_zone, digest_minute, id).
CREATE TABLE users (
    id             bigint  PRIMARY KEY,
    doc            jsonb   NOT NULL,
    seller         boolean NOT NULL,
    reachable      boolean NOT NULL,
    time_zone      text    NOT NULL,
    digest_minute  integer NOT NULL,
    digest_handled text    NOT NULL DEFAULT ''
);
CREATE INDEX users_digest ON users (time_zone, digest_minute, id) WHERE digest_minute >= 0;

-- +goose Down
DROP TABLE users;
DROP TABLE meta;
