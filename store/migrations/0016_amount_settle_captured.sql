-- A partial capture now sets amount_settle to the captured amount; charges
-- captured in part before that kept the held amount. Put them right.
UPDATE charges SET amount_settle = amount_captured
 WHERE auth_only = 1 AND time_paid <> 0 AND amount_captured > 0 AND amount_settle <> amount_captured;
