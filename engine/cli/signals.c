/*
 * signals.c - Ctrl-C and SIGTERM for the commands that run transfers.
 *
 * Owns: the rule every transfer command follows.  SIGPIPE is ignored (a
 * closed stdout or peer must not kill a transfer half done) and, for
 * commands that write files, SIGXFSZ too (a write past `ulimit -f` is then
 * EFBIG, reported as a local write error).  SIGINT and SIGTERM go to the
 * command's handler, which cancels (hoist.h makes cancel safe in a signal
 * handler); SA_RESETHAND makes a second one kill at once.  The command
 * blocks both while the engine starts its threads, so the threads inherit
 * the block and every signal lands on the main thread, and again before it
 * clears the pointer its handler reads and frees the transfer.
 * Threading: main thread only.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "cli.h"

void cli_signals_block(int block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

void cli_signals_catch(void (*handler)(int), int writes_files)
{
	struct sigaction sa;

	signal(SIGPIPE, SIG_IGN);
	if (writes_files) {
		signal(SIGXFSZ, SIG_IGN);
	}
	cli_signals_block(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}
