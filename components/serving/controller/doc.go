// Package controller is the serving slice's in-cluster side (apihost.API). Its
// InferenceService controller, which deploys models in Standard (RawDeployment) mode,
// comes next; for now the slice serves the API's types.
package controller
