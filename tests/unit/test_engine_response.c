/*
 * test_engine_response.c - the response parsers on protocol documents:
 * Error bodies (OSS with EC, S3), Initiate with encoding-type=url,
 * Complete (result, an <Error> inside a 200, garbage), ListParts across
 * pages, ListMultipartUploads with encoded keys and markers, and hostile
 * input (DOCTYPE, missing fields, bad numbers) refused cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "response.h"

#define S(x) x, strlen(x)

static void test_error(void **state)
{
	struct error_doc e;

	(void)state;
	assert_int_equal(response_parse_error(&e, S(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n"
		"  <Code>SignatureDoesNotMatch</Code>\n"
		"  <Message>The request signature we calculated does not match &amp; so on.</Message>\n"
		"  <RequestId>655D94CCD11E55313348AAAA</RequestId>\n"
		"  <HostId>bkt.oss-cn-hangzhou.aliyuncs.com</HostId>\n"
		"  <SignatureProvided>abc</SignatureProvided>\n"
		"  <EC>0002-00000040</EC>\n</Error>")), 0);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	assert_string_equal(e.message, "The request signature we calculated does not match & so on.");
	assert_string_equal(e.request_id, "655D94CCD11E55313348AAAA");
	assert_string_equal(e.ec, "0002-00000040");
	error_doc_cleanup(&e);

	/* S3 shape: no EC. */
	assert_int_equal(response_parse_error(&e, S(
		"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
		"<BucketName>x</BucketName><RequestId>TX1</RequestId><HostId>h</HostId></Error>")), 0);
	assert_string_equal(e.code, "NoSuchBucket");
	assert_null(e.ec);
	error_doc_cleanup(&e);

	assert_int_equal(response_parse_error(&e, S("<Other><Code>X</Code></Other>")), -1);
	assert_null(e.code);
	assert_int_equal(response_parse_error(&e, S("not xml")), -1);
	assert_int_equal(response_parse_error(&e, NULL, 0), -1);
	assert_int_equal(response_parse_error(&e, S(
		"<!DOCTYPE x [<!ENTITY a \"b\">]><Error><Code>&a;</Code></Error>")), -1);
}

static void test_initiate(void **state)
{
	struct initiate_doc d;

	(void)state;
	assert_int_equal(response_parse_initiate(&d, S(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult>"
		"<EncodingType>url</EncodingType><Bucket>bkt</Bucket>"
		"<Key>demo%2Fa%20b%2Bc%C3%A9</Key>"
		"<UploadId>0004B9894A22E5B1888A1E29F823ABCD</UploadId>"
		"</InitiateMultipartUploadResult>")), 0);
	assert_string_equal(d.bucket, "bkt");
	assert_string_equal(d.key, "demo/a b+c\xc3\xa9");
	assert_string_equal(d.upload_id, "0004B9894A22E5B1888A1E29F823ABCD");
	initiate_doc_cleanup(&d);

	/* Without encoding-type the key is literal ('+' stays). */
	assert_int_equal(response_parse_initiate(&d, S(
		"<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Bucket>b</Bucket><Key>a%2Bb</Key><UploadId>u1</UploadId>"
		"</InitiateMultipartUploadResult>")), 0);
	assert_string_equal(d.key, "a%2Bb");
	initiate_doc_cleanup(&d);

	assert_int_equal(response_parse_initiate(&d, S(
		"<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>")), -1);
	assert_int_equal(response_parse_initiate(&d, S(
		"<Error><Code>AccessDenied</Code></Error>")), -1);
	/* An encoded NUL in a key is refused. */
	assert_int_equal(response_parse_initiate(&d, S(
		"<InitiateMultipartUploadResult><EncodingType>url</EncodingType><Key>a%00b</Key>"
		"<UploadId>u</UploadId></InitiateMultipartUploadResult>")), -1);
}

static void test_complete(void **state)
{
	struct complete_doc d;

	(void)state;
	assert_int_equal(response_parse_complete(&d, S(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult>\n"
		"  <EncodingType>url</EncodingType>\n"
		"  <Location>http://oss-example.oss-cn-hangzhou.aliyuncs.com/multipart.data</Location>\n"
		"  <Bucket>oss-example</Bucket>\n  <Key>demo%2Fmultipart.data</Key>\n"
		"  <ETag>\"097DE458AD02B5F89F9D0530231876AB-2\"</ETag>\n"
		"</CompleteMultipartUploadResult>")), 0);
	assert_string_equal(d.location, "http://oss-example.oss-cn-hangzhou.aliyuncs.com/multipart.data");
	assert_string_equal(d.bucket, "oss-example");
	assert_string_equal(d.key, "demo/multipart.data");
	assert_string_equal(d.etag, "\"097DE458AD02B5F89F9D0530231876AB-2\"");
	assert_string_equal(d.encoding_type, "url");
	complete_doc_cleanup(&d);

	/* RGW: an empty ETag element. */
	assert_int_equal(response_parse_complete(&d, S(
		"<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag></ETag>"
		"</CompleteMultipartUploadResult>")), 0);
	assert_string_equal(d.etag, "");
	complete_doc_cleanup(&d);

	/* A 200 whose body is an error. */
	assert_int_equal(response_parse_complete(&d, S(
		"<?xml version=\"1.0\"?>\n\n<Error><Code>InternalError</Code>"
		"<Message>We encountered an internal error. Please try again.</Message>"
		"<RequestId>R9</RequestId></Error>")), 1);
	assert_string_equal(d.err.code, "InternalError");
	assert_string_equal(d.err.request_id, "R9");
	complete_doc_cleanup(&d);

	assert_int_equal(response_parse_complete(&d, S("")), -1);
	assert_int_equal(response_parse_complete(&d, S("{\"json\":1}")), -1);
	assert_int_equal(response_parse_complete(&d, S("<Other/>")), -1);
	assert_int_equal(response_parse_complete(&d, S("<CompleteMultipartUploadResult><ETag>x")), -1);
}

static void test_list_parts(void **state)
{
	struct hoist_part_list *l = calloc(1, sizeof(*l));
	struct list_parts_page pg;

	(void)state;
	assert_int_equal(response_parse_list_parts(l, &pg, S(
		"<ListPartsResult><EncodingType>url</EncodingType><Bucket>bucket</Bucket>"
		"<Key>demo%2Fgp-%0C%0A%0B</Key><UploadId>D4E1</UploadId>"
		"<PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>"
		"<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
		"<Part><PartNumber>1</PartNumber><LastModified>2023-11-22T05:42:34.000Z</LastModified>"
		"<ETag>\"CF3F46D505093571E916FCDD4967AAAA\"</ETag>"
		"<HashCrc64ecma>12066172435287683848</HashCrc64ecma><Size>102400</Size></Part>"
		"<Part><PartNumber>2</PartNumber><ETag>&quot;AB&quot;</ETag><Size>96316</Size></Part>"
		"</ListPartsResult>")), 0);
	assert_true(pg.truncated);
	assert_int_equal(pg.next_marker, 2);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->parts[0].part_number, 1);
	assert_true(l->parts[0].size == 102400);
	assert_true(l->parts[0].crc64_valid);
	assert_true(l->parts[0].crc64 == 12066172435287683848ULL);
	assert_string_equal(l->parts[0].last_modified, "2023-11-22T05:42:34.000Z");
	assert_false(l->parts[1].crc64_valid);
	assert_string_equal(l->parts[1].etag, "\"AB\"");

	/* Second page appends. */
	assert_int_equal(response_parse_list_parts(l, &pg, S(
		"<ListPartsResult><IsTruncated>false</IsTruncated>"
		"<Part><PartNumber>3</PartNumber><ETag>\"C\"</ETag><Size>5</Size></Part>"
		"</ListPartsResult>")), 0);
	assert_false(pg.truncated);
	assert_int_equal(l->count, 3);
	assert_int_equal(l->parts[2].part_number, 3);

	/* A broken page leaves the list as it was. */
	assert_int_equal(response_parse_list_parts(l, &pg, S(
		"<ListPartsResult><Part><PartNumber>4</PartNumber><Size>1</Size></Part>"
		"<Part><Size>2</Size></Part></ListPartsResult>")), -1);
	assert_int_equal(l->count, 3);
	assert_int_equal(response_parse_list_parts(l, &pg, S(
		"<ListPartsResult><Part><PartNumber>-1</PartNumber><Size>1</Size></Part></ListPartsResult>")), -1);
	assert_int_equal(response_parse_list_parts(l, &pg, S(
		"<ListPartsResult><Part><PartNumber>1</PartNumber><Size>99999999999999999999999</Size>"
		"</Part></ListPartsResult>")), -1);
	assert_int_equal(response_parse_list_parts(l, &pg, S("<Error><Code>NoSuchUpload</Code></Error>")), -1);
	assert_int_equal(l->count, 3);
	hoist_part_list_free(l);
}

static void test_list_uploads(void **state)
{
	struct hoist_upload_list *l = calloc(1, sizeof(*l));
	struct list_uploads_page pg;

	(void)state;
	assert_int_equal(response_parse_list_uploads(l, &pg, S(
		"<ListMultipartUploadsResult><EncodingType>url</EncodingType><Bucket>b</Bucket>"
		"<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
		"<NextKeyMarker>dir%2Fz%20z</NextKeyMarker><NextUploadIdMarker>U2</NextUploadIdMarker>"
		"<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>"
		"<Upload><Key>dir%2Fa%2Bb</Key><UploadId>U1</UploadId>"
		"<Initiated>2012-02-23T04:18:23.000Z</Initiated></Upload>"
		"<Upload><Key>dir%2Fz%20z</Key><UploadId>U2</UploadId>"
		"<Initiated>2012-02-23T04:18:24.000Z</Initiated></Upload>"
		"<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
		"</ListMultipartUploadsResult>")), 0);
	assert_true(pg.truncated);
	assert_string_equal(pg.next_key_marker, "dir/z z");
	assert_string_equal(pg.next_upload_id_marker, "U2");
	assert_int_equal(l->count, 2);
	assert_string_equal(l->uploads[0].key, "dir/a+b");
	assert_string_equal(l->uploads[0].upload_id, "U1");
	assert_string_equal(l->uploads[1].initiated, "2012-02-23T04:18:24.000Z");
	list_uploads_page_cleanup(&pg);

	assert_int_equal(response_parse_list_uploads(l, &pg, S(
		"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
		"<Upload><UploadId>U3</UploadId></Upload></ListMultipartUploadsResult>")), -1);
	assert_int_equal(l->count, 2);
	hoist_upload_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_initiate),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_list_parts),
		cmocka_unit_test(test_list_uploads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
