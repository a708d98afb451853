// Package modelserver is kfup's own model server (`kfup modelserver`): XGBoost models
// evaluated in pure Go behind the Open Inference Protocol v2 REST API and KServe's v1
// predict API. It runs in the cluster from kfup's one image, so it links no host tooling.
package modelserver
