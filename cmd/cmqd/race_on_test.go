//go:build race

package main

// raceBuild: the e2e binaries are built with -race too when the tests run with it.
const raceBuild = true
