package vault

// InsertLegacyCard lets the external tests store a card with a version 1
// (global) fingerprint, saved on a new customer; it returns the card id.
var InsertLegacyCard = insertLegacyCard
