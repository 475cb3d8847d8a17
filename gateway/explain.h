/* explain: `paywallctl explain`, the decision for a request, without a gateway. */
#ifndef PAYWALLD_EXPLAIN_H
#define PAYWALLD_EXPLAIN_H

/*
 * paywallctl explain -c CONFIG --path PATH [--token T] [--ip ADDR] [--ua UA]
 *                    [--at RFC3339] [--reads N]
 * Prints the normalized path, the route, the reader, every promotion for
 * the path (past, running, upcoming at --at), the crawler verdict and the
 * decision with its reason, computed by the gateway's own policy_decide.
 * --reads N: distinct articles already read in the current meter period.
 * argv[0] is the first argument after "explain". Returns the exit code.
 */
int explain_main(int argc, char **argv);

/*
 * paywallctl meter show|reset -c CONFIG (--user SUB | --visitor COOKIE_VALUE)
 * Shows or clears one reader's meter in the configured store (LMDB; a
 * memory store lives only inside the gateway). Returns the exit code.
 */
int explain_meter_main(int argc, char **argv);

#endif
