// Package controller is the serving slice's in-cluster side (apihost.API): the
// InferenceService controller, which deploys KServe InferenceServices in Standard
// (RawDeployment) mode as a Deployment, Service and HPA per component, and the
// installer of the built-in ClusterServingRuntimes. Its decisions are package engine's
// pure functions.
package controller
