// Package docs holds the project's documentation (Markdown). Its test,
// examples_test.go, runs the shell blocks of README.md and docs/*.md marked
// as sandbox examples, exactly as written, against a sandbox gateway.
package docs
