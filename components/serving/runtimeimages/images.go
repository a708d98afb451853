// Package runtimeimages names the images of KServe's upstream serving runtimes that kfup
// installs as built-in ClusterServingRuntimes. It is data only, shared by the runtimes'
// installer in the manager (package engine) and the host side, which puts the images
// that a profile asks for (components.serving.bundleRuntimes) into `kfup images save`
// bundles for air-gapped clusters.
package runtimeimages

import (
	"slices"
	"sort"
)

// KServeVersion is the KServe release whose runtime images the built-in upstream
// runtimes run.
const KServeVersion = "v0.16.0"

func kserve(name string) string { return "kserve/" + name + ":" + KServeVersion }

// images are the upstream runtimes' images, by runtime name.
var images = map[string]string{
	"kserve-sklearnserver":      kserve("sklearnserver"),
	"kserve-xgbserver":          kserve("xgbserver"),
	"kserve-lgbserver":          kserve("lgbserver"),
	"kserve-pmmlserver":         kserve("pmmlserver"),
	"kserve-huggingfaceserver":  kserve("huggingfaceserver"),
	"kserve-tensorflow-serving": "tensorflow/serving:2.6.2",
	"kserve-torchserve":         "pytorch/torchserve-kfs:0.9.0",
	"kserve-tritonserver":       "nvcr.io/nvidia/tritonserver:23.05-py3",
}

// Image returns the image of the upstream runtime name ("" when kfup has none of that
// name).
func Image(name string) string { return images[name] }

// Names lists the upstream runtimes, sorted.
func Names() []string {
	out := make([]string, 0, len(images))
	for n := range images {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Known says whether name is one of Names.
func Known(name string) bool { return slices.Contains(Names(), name) }
