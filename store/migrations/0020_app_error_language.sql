-- The language of an app's API error replies: '' follows each request's
-- Accept-Language (Chinese by default, as Ping++), 'en' or 'zh' fixes it
-- for merchants whose HTTP client cannot set the header (Ping++'s SDKs
-- send Accept-Language: zh-CN).
ALTER TABLE apps ADD COLUMN error_language TEXT NOT NULL DEFAULT '';
