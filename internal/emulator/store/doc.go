// Package store holds the emulator's incident data: a deterministic,
// multi-tenant sample data set and the mutations the fake Graph and Defender
// XDR APIs apply to it.
//
// The model is neutral: enum values use the Microsoft Graph camelCase
// spelling (the newest names), and each API package maps them to its own wire
// spelling. [New] generates the same data for the same reference time, so
// tests can rely on stable ids and contents. All methods are safe for
// concurrent use and return copies, never references into the store.
package store
