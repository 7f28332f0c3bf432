/* Unit tests: container/mounts — -v, --mount and --tmpfs as docker parses them
 * (messages from moby's volume/mounts/linux_parser.go and docker/cli's
 * opts/mount.go), and the mount points a container keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "container/mounts.h"

/* Parses with `fn`, expects failure with exactly `msg` and `code`. */
static void
expect_error (int (*fn) (const char *, struct mount_spec *, struct kiln_err *), const char *spec, int code,
              const char *msg)
{
  struct mount_spec m = {.tmpfs_mode = -1};
  struct kiln_err err = {0};
  assert_int_equal (fn (spec, &m, &err), -1);
  assert_string_equal (err.msg, msg);
  assert_int_equal (err.code, code);
  kiln_err_clear (&err);
  mount_spec_clear (&m);
}

static void
volume_flag_names_binds_and_volumes (void **state)
{
  (void) state;
  struct mount_spec m = {.tmpfs_mode = -1};
  struct kiln_err err = {0};
  assert_int_equal (mount_parse_volume_flag ("/host//dir/:/ctr/./x/", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_BIND);
  assert_string_equal (m.source, "/host/dir");
  assert_string_equal (m.target, "/ctr/x");
  assert_false (m.readonly);
  assert_string_equal (m.propagation, "rprivate");
  assert_string_equal (m.mode, "");

  assert_int_equal (mount_parse_volume_flag ("data:/var/lib/db:ro,nocopy", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_VOLUME);
  assert_string_equal (m.source, "data");
  assert_string_equal (m.target, "/var/lib/db");
  assert_true (m.readonly);
  assert_true (m.nocopy);
  assert_string_equal (m.mode, "ro,nocopy");

  /* A destination alone: an anonymous volume. */
  assert_int_equal (mount_parse_volume_flag ("/cache", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_VOLUME);
  assert_null (m.source);
  assert_string_equal (m.target, "/cache");

  assert_int_equal (mount_parse_volume_flag ("/h:/c:rw,rshared", &m, &err), 0);
  assert_string_equal (m.propagation, "rshared");
  mount_spec_clear (&m);
}

static void
volume_flag_errors_are_dockers (void **state)
{
  (void) state;
  expect_error (mount_parse_volume_flag, "/a:/b:ro:x", KILN_EINVAL, "invalid volume specification: '/a:/b:ro:x'");
  expect_error (mount_parse_volume_flag, ":/b", KILN_EINVAL, "invalid volume specification: ':/b'");
  expect_error (mount_parse_volume_flag, "", KILN_EINVAL, "invalid volume specification: ''");
  /* A destination and a mode is not a volume. */
  expect_error (mount_parse_volume_flag, "/b:ro", KILN_EINVAL, "invalid volume specification: '/b:ro'");
  expect_error (mount_parse_volume_flag, "v:/b:rw,ro", KILN_EINVAL, "invalid mode: rw,ro");
  expect_error (mount_parse_volume_flag, "v:/b:bogus", KILN_EINVAL, "invalid mode: bogus");
  expect_error (mount_parse_volume_flag, "v:rel", KILN_EINVAL,
                "invalid volume specification: 'v:rel': invalid mount config for type \"volume\": invalid mount path: "
                "'rel' mount path must be absolute");
  expect_error (mount_parse_volume_flag, "/h:/..", KILN_EINVAL,
                "invalid volume specification: '/h:/..': invalid mount config for type \"bind\": invalid "
                "specification: destination can't be '/'");
  expect_error (mount_parse_volume_flag, "/h:/c:nocopy", KILN_EINVAL,
                "invalid volume specification: '/h:/c:nocopy': invalid mount config for type \"bind\": field "
                "VolumeOptions must not be specified");
  expect_error (mount_parse_volume_flag, "a/b:/c", KILN_EINVAL,
                "create a/b: \"a/b\" includes invalid characters for a local volume name, only "
                "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute "
                "path");
  expect_error (mount_parse_volume_flag, "..:/c", KILN_EINVAL,
                "create ..: \"..\" includes invalid characters for a local volume name, only "
                "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute "
                "path");
}

static void
volume_names_follow_dockers_rule (void **state)
{
  (void) state;
  assert_true (volume_name_valid ("db"));
  assert_true (volume_name_valid ("a.b_c-d9"));
  assert_false (volume_name_valid ("a")); /* two characters at least */
  assert_false (volume_name_valid ("_a"));
  assert_false (volume_name_valid (".."));
  assert_false (volume_name_valid ("a/b"));
  assert_false (volume_name_valid (""));
}

static void
mount_flag_parses_dockers_fields (void **state)
{
  (void) state;
  struct mount_spec m = {.tmpfs_mode = -1};
  struct kiln_err err = {0};
  assert_int_equal (mount_parse_mount_flag ("type=volume,source=data,target=/d,readonly,volume-nocopy", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_VOLUME);
  assert_string_equal (m.source, "data");
  assert_string_equal (m.target, "/d");
  assert_true (m.readonly);
  assert_true (m.nocopy);

  /* Aliases, any case of a key, a default type of volume, quoted fields. */
  assert_int_equal (mount_parse_mount_flag ("SRC=v2,\"dst=/x,y\",ro=false", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_VOLUME);
  assert_string_equal (m.target, "/x,y");
  assert_false (m.readonly);

  assert_int_equal (mount_parse_mount_flag ("type=bind,src=/h,destination=/c,bind-propagation=rslave", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_BIND);
  assert_string_equal (m.propagation, "rslave");

  assert_int_equal (mount_parse_mount_flag ("src=vv,target=/a,volume-subpath=./x/../y,volume-label=k=v", &m, &err), 0);
  assert_string_equal (m.subpath, "./x/../y");
  assert_string_equal (json_string_value (json_object_get (m.volume_labels, "k")), "v");

  assert_int_equal (mount_parse_mount_flag ("type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770", &m, &err), 0);
  assert_int_equal (m.type, MOUNT_TMPFS);
  assert_int_equal (m.tmpfs_size, 64u << 20);
  assert_int_equal (m.tmpfs_mode, 01770);
  mount_spec_clear (&m);
}

static void
mount_flag_errors_are_dockers (void **state)
{
  (void) state;
  expect_error (mount_parse_mount_flag, "type=volume,target", KILN_EUSAGE,
                "invalid argument \"type=volume,target\" for \"--mount\" flag: invalid field 'target' must be a "
                "key=value pair");
  expect_error (mount_parse_mount_flag, "type=bind,src=/a", KILN_EUSAGE,
                "invalid argument \"type=bind,src=/a\" for \"--mount\" flag: target is required");
  expect_error (mount_parse_mount_flag, "target=/a,foo=bar", KILN_EUSAGE,
                "invalid argument \"target=/a,foo=bar\" for \"--mount\" flag: unexpected key 'foo' in 'foo=bar'");
  expect_error (mount_parse_mount_flag, "type=tmpfs,target=/a,tmpfs-size=lots", KILN_EUSAGE,
                "invalid argument \"type=tmpfs,target=/a,tmpfs-size=lots\" for \"--mount\" flag: invalid value for "
                "tmpfs-size: lots");
  expect_error (mount_parse_mount_flag, "type=tmpfs,target=/a,tmpfs-mode=9", KILN_EUSAGE,
                "invalid argument \"type=tmpfs,target=/a,tmpfs-mode=9\" for \"--mount\" flag: invalid value for "
                "tmpfs-mode: 9");
  expect_error (mount_parse_mount_flag, "type=bind,target=/a,volume-nocopy", KILN_EUSAGE,
                "invalid argument \"type=bind,target=/a,volume-nocopy\" for \"--mount\" flag: cannot mix 'volume-*' "
                "options with mount type 'bind'");
  expect_error (mount_parse_mount_flag, "type=volume,target=/a,tmpfs-size=1m", KILN_EUSAGE,
                "invalid argument \"type=volume,target=/a,tmpfs-size=1m\" for \"--mount\" flag: cannot mix 'tmpfs-*' "
                "options with mount type 'volume'");
  expect_error (mount_parse_mount_flag, "target=/a,readonly=maybe", KILN_EUSAGE,
                "invalid argument \"target=/a,readonly=maybe\" for \"--mount\" flag: invalid value for readonly: maybe");
  expect_error (mount_parse_mount_flag, "type=nfs,target=/a", KILN_EINVAL,
                "invalid mount config for type \"nfs\": mount type unknown");
  expect_error (mount_parse_mount_flag, "type=bind,target=/a", KILN_EINVAL,
                "invalid mount config for type \"bind\": field Source must not be empty");
  expect_error (mount_parse_mount_flag, "type=bind,source=rel,target=/a", KILN_EINVAL,
                "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute");
  expect_error (mount_parse_mount_flag, "type=tmpfs,source=x,target=/a", KILN_EINVAL,
                "invalid mount config for type \"tmpfs\": field Source must not be specified");
  expect_error (mount_parse_mount_flag, "type=volume,target=/a,readonly", KILN_EINVAL,
                "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes");
  expect_error (mount_parse_mount_flag, "type=volume,target=a", KILN_EINVAL,
                "invalid mount config for type \"volume\": invalid mount path: 'a' mount path must be absolute");
  expect_error (mount_parse_mount_flag, "src=vv,target=/a,volume-subpath=a/../../b", KILN_EINVAL,
                "invalid mount config for type \"volume\": subpath must be a relative path within the volume");
  expect_error (mount_parse_mount_flag, "src=vv,target=/a,volume-subpath=/etc", KILN_EINVAL,
                "invalid mount config for type \"volume\": subpath must be a relative path within the volume");
  expect_error (mount_parse_mount_flag, "type=bind,src=/h,target=/a,volume-subpath=x", KILN_EUSAGE,
                "invalid argument \"type=bind,src=/h,target=/a,volume-subpath=x\" for \"--mount\" flag: cannot mix "
                "'volume-*' options with mount type 'bind'");
  expect_error (mount_parse_mount_flag, "type=volume,target=/", KILN_EINVAL,
                "invalid mount config for type \"volume\": invalid specification: destination can't be '/'");
}

static void
tmpfs_flag_takes_dockers_options (void **state)
{
  (void) state;
  struct mount_spec m = {.tmpfs_mode = -1};
  struct kiln_err err = {0};
  assert_int_equal (mount_parse_tmpfs_flag ("/run:ro,exec,size=64m,mode=1777", &m, &err), 0);
  assert_string_equal (m.target, "/run");
  assert_true (m.readonly);
  unsigned long flags;
  struct buf data = BUF_INIT;
  assert_int_equal (mount_tmpfs_options (m.tmpfs_opts, &flags, &data, &err), 0);
  assert_int_equal (flags, MS_RDONLY | MS_NOSUID | MS_NODEV); /* exec clears docker's noexec */
  assert_string_equal (buf_str (&data), "size=64m,mode=1777");
  assert_int_equal (mount_parse_tmpfs_flag ("/t", &m, &err), 0);
  assert_int_equal (mount_tmpfs_options (m.tmpfs_opts, &flags, &data, &err), 0);
  assert_int_equal (flags, MS_NOEXEC | MS_NOSUID | MS_NODEV);
  assert_string_equal (buf_str (&data), "");
  buf_free (&data);
  mount_spec_clear (&m);
  expect_error (mount_parse_tmpfs_flag, "/t:foo", KILN_EINVAL, "Invalid tmpfs option [\"foo\"]");
  expect_error (mount_parse_tmpfs_flag, "/t:size=1m,mpol=x,y", KILN_EINVAL, "Invalid tmpfs option [\"mpol\" \"x\"]");
  expect_error (mount_parse_tmpfs_flag, "/t:size=1m;rm", KILN_EINVAL, "Invalid tmpfs option [\"size\" \"1m;rm\"]");
  expect_error (mount_parse_tmpfs_flag, "t", KILN_EINVAL, "invalid mount path: 't' mount path must be absolute");
  expect_error (mount_parse_tmpfs_flag, "/", KILN_EINVAL, "invalid specification: destination can't be '/'");
}

static void
ram_sizes_are_go_units (void **state)
{
  (void) state;
  uint64_t v;
  assert_int_equal (mount_parse_ram_size ("512", &v), 0);
  assert_int_equal (v, 512);
  assert_int_equal (mount_parse_ram_size ("64m", &v), 0);
  assert_int_equal (v, 64u << 20);
  assert_int_equal (mount_parse_ram_size ("1.5GiB", &v), 0);
  assert_int_equal (v, 3u << 29);
  assert_int_equal (mount_parse_ram_size ("2 kb", &v), 0);
  assert_int_equal (v, 2048);
  assert_int_equal (mount_parse_ram_size ("-1", &v), -1);
  assert_int_equal (mount_parse_ram_size ("m", &v), -1);
  assert_int_equal (mount_parse_ram_size ("1x", &v), -1);
  assert_int_equal (mount_parse_ram_size ("99999999999999999999999p", &v), -1);
}

static void
clean_paths_are_gos (void **state)
{
  (void) state;
  static const char *const cases[][2] = {{"/", "/"},       {"//a//b/", "/a/b"}, {"/a/./b/../c", "/a/c"},
                                         {"/../..", "/"},  {"/a/..", "/"},     {"/a/b/../../..", "/"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *c = mount_clean_path (cases[i][0]);
      assert_string_equal (c, cases[i][1]);
      free (c);
    }
  assert_null (mount_clean_path ("a"));
}

static void
config_keeps_binds_mounts_tmpfs_and_refuses_a_point_twice (void **state)
{
  (void) state;
  struct strv v = STRV_INIT, mnt = STRV_INIT, tmpfs = STRV_INIT;
  strv_push (&v, "data:/d");
  strv_push (&v, "/h:/hh:ro");
  strv_push (&v, "/anon");
  strv_push (&mnt, "type=tmpfs,target=/mt,tmpfs-size=1k");
  strv_push (&tmpfs, "/tt:size=1m");
  json_t *host = json_object (), *vols = json_object (), *points = json_array ();
  struct kiln_err err = {0};
  assert_int_equal (mounts_config (&v, &mnt, &tmpfs, host, vols, points, &err), 0);
  char *h = json_dumps (host, JSON_COMPACT);
  assert_string_equal (h, "{\"Binds\":[\"data:/d\",\"/h:/hh:ro\"],\"Mounts\":[{\"Type\":\"tmpfs\",\"Source\":\"\","
                          "\"Target\":\"/mt\",\"TmpfsOptions\":{\"SizeBytes\":1024}}],\"Tmpfs\":{\"/tt\":\"size=1m\"}}");
  free (h);
  assert_non_null (json_object_get (vols, "/anon"));
  assert_int_equal (json_array_size (points), 5);
  json_t *cfg = json_pack ("{s:O}", "MountPoints", points);
  json_t *mounts = mounts_inspect_json (cfg);
  json_decref (cfg);
  /* --tmpfs is not one of inspect's Mounts, as in docker. */
  assert_int_equal (json_array_size (mounts), 4);
  char *first = json_dumps (json_array_get (mounts, 0), JSON_COMPACT);
  assert_string_equal (first, "{\"Type\":\"volume\",\"Name\":\"data\",\"Source\":\"\",\"Destination\":\"/d\",\"Driver\":"
                              "\"local\",\"Mode\":\"z\",\"RW\":true,\"Propagation\":\"\"}");
  free (first);
  char *second = json_dumps (json_array_get (mounts, 1), JSON_COMPACT);
  assert_string_equal (second, "{\"Type\":\"bind\",\"Source\":\"/h\",\"Destination\":\"/hh\",\"Mode\":\"ro\",\"RW\":"
                               "false,\"Propagation\":\"rprivate\"}");
  free (second);
  json_decref (mounts);
  json_decref (host);
  json_decref (vols);
  json_decref (points);
  strv_push (&tmpfs, "/d/");
  host = json_object (), vols = json_object (), points = json_array ();
  assert_int_equal (mounts_config (&v, &mnt, &tmpfs, host, vols, points, &err), -1);
  assert_string_equal (err.msg, "Duplicate mount point: /d");
  kiln_err_clear (&err);
  json_decref (host);
  json_decref (vols);
  json_decref (points);
  strv_free (&v);
  strv_free (&mnt);
  strv_free (&tmpfs);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (volume_flag_names_binds_and_volumes),
    cmocka_unit_test (volume_flag_errors_are_dockers),
    cmocka_unit_test (volume_names_follow_dockers_rule),
    cmocka_unit_test (mount_flag_parses_dockers_fields),
    cmocka_unit_test (mount_flag_errors_are_dockers),
    cmocka_unit_test (tmpfs_flag_takes_dockers_options),
    cmocka_unit_test (ram_sizes_are_go_units),
    cmocka_unit_test (clean_paths_are_gos),
    cmocka_unit_test (config_keeps_binds_mounts_tmpfs_and_refuses_a_point_twice),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
