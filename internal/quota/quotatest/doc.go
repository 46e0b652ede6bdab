// Package quotatest helps test quota stores and schedulers: a fake clock
// and StoreConformance, the behaviour every quota.Store must have.
package quotatest
