package controller

// NasOf is nasOf for the external tests (which replay what the manager asked enas).
var NasOf = nasOf
