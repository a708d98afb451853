// Package e2e holds kfup's end-to-end tests: they run the kfup binary to create a real kind
// cluster, load workload images into it, run pods and exercise the CLI (create again,
// interrupt, delete), and dump nodes, pods, events and logs on failure. They are built only
// with the e2e tag; run them with `make e2e`. See docs/testing.md.
package e2e
