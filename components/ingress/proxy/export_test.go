package proxy

// TwoChoices is twoChoices, for the tests.
var TwoChoices = twoChoices
