// Package enginetest holds the integration tests of the install engine (components.Plan,
// Apply, the training and manager components) against a real kube-apiserver (envtest)
// that starts without kfup's CRDs, so that installing them is what is tested.
package enginetest
