// Package engine holds the serving slice's decisions as pure functions: which runtime
// serves a predictor's model (runtime.go, KServe's rules), the built-in runtimes
// (builtin.go), and the Deployments, Services and HPAs of an InferenceService in
// Standard mode (desired.go). The controller fetches, calls these and writes.
package engine
