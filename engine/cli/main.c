/*
 * main.c - the hoist command: subcommand dispatch, --help, --version and
 * the mapping from hoist_status to exit codes.
 *
 * Owns: argv[1] (the subcommand), the top-level help (which documents the
 * exit codes: a contract with scripts, also in engine/cli/EXIT_CODES.md),
 * and the help text of the options all commands share.
 * Threading: main thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_help_common[] =
	"Connection options (all commands):\n"
	"  --endpoint URL        e.g. https://oss-cn-hangzhou.aliyuncs.com or\n"
	"                        http://127.0.0.1:9000 (an IP endpoint means path style);\n"
	"                        default: from --region\n"
	"  --region ID           e.g. cn-hangzhou; default: the one an aliyuncs.com or\n"
	"                        amazonaws.com endpoint names, else cn-hangzhou (S3:\n"
	"                        AWS_REGION, ~/.aws/config, else us-east-1)\n"
	"  --internal            the region's -internal endpoint (OSS, from inside Alibaba Cloud)\n"
	"  --signature v1|v4     OSS signature version (default v4)\n"
	"  --path-style          https://ENDPOINT/BUCKET/KEY instead of virtual hosts\n"
	"  --cacert FILE         trust the CA certificates in FILE (PEM)\n"
	"  --insecure            do not verify the server's TLS certificate\n"
	"  --connect-timeout S   seconds (default 10)\n"
	"  --retries N           re-sends of a failed request (default 5)\n"
	"  --threads N           hashing threads (default: one per core it may use, pinned)\n"
	"  --io-threads N        network event loops (default 1)\n"
	"  --max-connections N   connections across loops (default 1024)\n"
	"  --profile NAME        use this profile of ~/.alibabacloud/credentials (oss://;\n"
	"                        before the variables)\n"
	"Output options:\n"
	"  --json                print the result as one JSON object (engine/cli/JSON.md)\n"
	"  --quiet               no progress bar and no result printout; errors only\n"
	"  --verbose             per-part lines and engine diagnostics\n"
	"Credentials for oss://, the first source that has them: OSS_ACCESS_KEY_ID,\n"
	"OSS_ACCESS_KEY_SECRET, OSS_SESSION_TOKEN; ALIBABA_CLOUD_ACCESS_KEY_ID,\n"
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN; the profile\n"
	"--profile or ALIBABA_CLOUD_PROFILE (default \"default\") of\n"
	"ALIBABA_CLOUD_CREDENTIALS_FILE or ~/.alibabacloud/credentials (INI or JSON);\n"
	"the ECS instance's RAM role (ALIBABA_CLOUD_ECS_METADATA, or discovered; off\n"
	"with ALIBABA_CLOUD_ECS_METADATA_DISABLED=true), renewed before it expires.\n"
	"For s3://: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,\n"
	"AWS_SESSION_TOKEN, else the profile AWS_PROFILE (default \"default\") of\n"
	"~/.aws/credentials, and the region from AWS_REGION or ~/.aws/config.\n"
	"With no credentials, requests are anonymous.  --verbose names the source.\n";

static const char main_help[] =
	"Usage: hoist COMMAND [ARGS] [options]\n"
	"\n"
	"Bulk upload to Alibaba Cloud OSS and S3-compatible stores: parallel\n"
	"parts, Content-MD5 and CRC64 on every part, the whole object verified.\n"
	"\n"
	"Commands:\n"
	"  cp FILE oss://BUCKET/KEY       upload a file (also s3://BUCKET/KEY)\n"
	"  cp oss://BUCKET/KEY FILE|DIR|-   download an object (also s3://)\n"
	"  cp -r DIR oss://BUCKET/PREFIX/ upload a tree through one engine\n"
	"  cp -r oss://BUCKET/PREFIX/ DIR download a tree through one engine\n"
	"  abort oss://BUCKET/KEY --upload-id ID   abort a multipart upload\n"
	"  ls-uploads oss://BUCKET[/PREFIX]        list multipart uploads in progress\n"
	"  ls-parts oss://BUCKET/KEY --upload-id ID  list an upload's parts\n"
	"  ls oss://BUCKET[/PREFIX]       list objects (one level; -r: all)\n"
	"  stat oss://BUCKET/KEY          size, ETag, CRC64, type, mtime of an object\n"
	"  rm oss://BUCKET/KEY            delete an object (-r PREFIX/: every one under it)\n"
	"\n"
	"  hoist COMMAND --help   options of a command\n"
	"  hoist --version        versions of hoist and its library\n"
	"\n"
	"Example:\n"
	"  OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... \\\n"
	"    hoist cp big.tar oss://my-bucket/backups/big.tar --region cn-hangzhou\n"
	"\n"
	"Exit codes:\n"
	"  0    success: the object is stored and verified\n"
	"  2    usage: bad command line, nothing was sent\n"
	"  3    transfer failed: network, TLS, server, access denied, not found,\n"
	"       or the local file could not be read\n"
	"  4    checksum mismatch: a part or the object did not verify; nothing\n"
	"       was completed with wrong bytes\n"
	"  5    the upload callback failed; the object IS stored\n"
	"  6    the source changed during the transfer: the file during an upload\n"
	"       (nothing was completed), the object during a download (FILE\n"
	"       untouched)\n"
	"  7    cp -r: some files failed or keys were refused (each reported); the\n"
	"       others were copied; rm -r: some keys were refused (each reported);\n"
	"       the others deleted\n"
	"  130  cancelled (Ctrl-C or SIGTERM); the upload is kept for resume\n"
	"       unless --no-resume\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "cp", cli_cp },
		{ "abort", cli_abort },
		{ "ls-uploads", cli_ls_uploads },
		{ "ls-parts", cli_ls_parts },
		{ "ls", cli_ls },
		{ "stat", cli_stat },
		{ "rm", cli_rm },
	};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	size_t i;

	if (!cmd) {
		fputs(main_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		/* "hoist help cp" is "hoist cp --help". */
		if (argc > 2 && strcmp(cmd, "help") == 0) {
			for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
				if (strcmp(argv[2], cmds[i].name) == 0) {
					char *hargv[] = { argv[2], (char *)"--help", NULL };

					return cmds[i].fn(2, hargv);
				}
			}
			cli_usage_error(NULL, "no command '%s'", argv[2]);
			return CLI_EXIT_USAGE;
		}
		fputs(main_help, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
	    strcmp(cmd, "version") == 0) {
		const char *md5 = hoist_md5_impl();

		printf("hoist %s (library %s)\n", HOIST_VERSION_STRING, hoist_version());
		printf("md5: %s\n", md5 ? md5 : "none (HOIST_MD5 names no path this CPU has)");
		return CLI_EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmd, cmds[i].name) == 0) {
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	cli_usage_error(NULL, "no command '%s'", cmd);
	return CLI_EXIT_USAGE;
}
