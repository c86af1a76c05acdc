// Package faults holds icpmon's fault-injection suite and nothing else: its
// tests run the real pieces (redis-server, the daemon, the icpmon binary, the
// MIIT simulator, local websites) and break them on purpose — Redis killed,
// paused or failed over, the public query answering garbage, websites that
// never answer, signals and broken configurations — then check that nothing
// tracked was lost, duplicated, half-written or falsely cleared.
//
// RELIABILITY.md at the top of the repository lists each fault, how often it
// was injected, what was observed and the command that reproduces it.
package faults
