// Package faultharness holds the fault harness of issue 8: a test, behind
// the faultharness build tag, that builds cmd/polypay and runs the real
// binary as a child process against simulators and a merchant webhook
// receiver that live in the test process, under mixed load, while it
// SIGKILLs and restarts polypay on the same data many times and makes the
// simulators and the receiver misbehave. It then checks the invariants
// against the simulators' own books and prints them as a table.
//
// The load takes money in (charges, refunds) and pays it out: transfers
// and batch transfers on the alipay channel (payouts_test.go), checked
// against the Alipay simulator's payouts and funds: every payee paid
// exactly once, or not at all when the account is frozen or unknown.
// Users recharge their balance through charges the simulators take
// (recharges_test.go): a recharge is credited exactly when the channel
// kept its charge's payment, once, and each user's available_balance is
// the sum of their credited recharges (amount - user_fee + bonus), less
// the balance charges they paid plus those charges' refunds
// (balance_test.go): a balance charge is held only paid, once per
// order_no, and no balance ever goes below zero.
//
// TestSubscriptionYear (year_test.go) is a year of subscription billing
// on a clock the harness moves, with nodes SIGKILLed while they bill.
//
//	go test -tags faultharness -run TestFaultHarness -timeout 30m ./faultharness -args -duration 10m
//	go test -tags faultharness -run TestFaultHarness ./faultharness   # short: 60 s, about 5 crashes
//	... -args -postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable   # on PostgreSQL
//
// Why the simulators live in the test process: they are the channel, and
// a channel does not forget its trades when the gateway crashes. polypay
// is started with --sim-url pointing at them (see sandbox.Sandbox.SimHostHandler);
// the simulators read the sandbox merchants' keys from the same store, and
// their platform keys are the ones stored there, so both processes agree.
package faultharness
