//go:build !linux

package main

import "errors"

func pinCPUs([]int) error { return errors.New("--cpus: only on Linux") }

func allowedCPUs() []int { return nil }
