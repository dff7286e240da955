package core_test

// The channel families' descriptors, which core asks about channels
// (scene, expiry, cashier), are registered by package channel.
import _ "github.com/polypay/polypay/channel"
