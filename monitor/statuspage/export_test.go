package statuspage

// Chinese is the catalogue, for the test that checks it is complete.
var Chinese = chinese
