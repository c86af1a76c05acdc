// Package harness is what icpmon's tests share to run real pieces and watch
// them: a daemon started in the test process and the address its log says
// it listens on; programs started and stopped with the test; a log buffer
// and a list that the test reads while other goroutines write them; a
// poller that waits for a state with a generous deadline; free ports, raw
// TCP listeners, a server that never answers, recorded HTTP responses and a
// private certificate authority for local sites; a settable clock; and the
// parsing of a /metrics exposition. Only tests import it.
package harness
