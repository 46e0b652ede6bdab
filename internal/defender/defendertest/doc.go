// Package defendertest holds the helpers the tests of the defender backend
// packages share: a recording test server, the test token source and the
// *defender.Error assertion. Only tests import it.
package defendertest
