-- 42 CFR §2.31: every element of a consent as data — who may disclose, how much information,
-- how it was signed — and the patient's three acknowledgements as given (never assumed on read).
ALTER TABLE consents ADD COLUMN discloser TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN information_amount TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN signature_method TEXT NOT NULL DEFAULT 'paper';
ALTER TABLE consents ADD COLUMN revocation_explained INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN refusal_consequences_explained INTEGER NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN redisclosure_notice_given INTEGER NOT NULL DEFAULT 0;
-- Consents recorded before this migration could not be saved without the two acknowledgements
-- the form then asked for: they were given. Whether the right to revoke was explained was not
-- recorded, and stays "not recorded".
UPDATE consents SET refusal_consequences_explained = 1, redisclosure_notice_given = 1;
