using System.Text;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Testing;

namespace HttpCache.Engine.Tests.Http;

/// <summary>
/// Issue 10, credentials: every secret name is keyed (by HMAC-SHA-256 under the key secret) and redacted, never
/// dropped; only -ExcludeFromKey leaves a name out; the Host header is part of the key; a shared session
/// never stores Set-Cookie.
/// </summary>
public sealed class SecretKeyingTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static readonly byte[] SecretA = Encoding.UTF8.GetBytes("secret-a");
    private static readonly byte[] SecretB = Encoding.UTF8.GetBytes("secret-b");

    private string MapCounter(string name, params (string Name, string Value)[] headers)
    {
        var path = origin.NewPath(name);
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Cache-Control"] = "max-age=60" };
        foreach (var (header, value) in headers)
        {
            all[header] = value;
        }

        origin.Map(path, OriginBehaviors.Counter(all));
        return path;
    }

    // ---- the digest ----

    [Fact]
    public void SecretDigest_is_HMAC_SHA256_under_the_key_secret()
    {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        var digest = CacheKey.SecretDigest("what do ya want for nothing?", Encoding.ASCII.GetBytes("Jefe"));

        Assert.Equal("hmac-sha256:5bdcc146bf60754e6a042426089575c7", digest);
    }

    [Fact]
    public void A_different_key_secret_gives_different_keys_to_secrets_only()
    {
        var secret = new Uri("https://api.example/x?q=1&api_key=K");
        var plain = new Uri("https://api.example/x?q=1");
        var a = CacheSettings.Default with { KeySecret = SecretA };
        var b = CacheSettings.Default with { KeySecret = SecretB };

        Assert.NotEqual(CacheKey.Primary("GET", secret, null, null, a), CacheKey.Primary("GET", secret, null, null, b));
        Assert.Equal(CacheKey.Primary("GET", secret, null, null, a), CacheKey.Primary("GET", secret, null, null, a with { }));
        Assert.Equal(CacheKey.Primary("GET", plain, null, null, a), CacheKey.Primary("GET", plain, null, null, b));
        Assert.Equal(CacheKey.Primary("GET", plain, null), CacheKey.Primary("GET", plain, null, null, a));
    }

    // ---- keyed, not dropped ----

    [Theory]
    [InlineData("api_key")]
    [InlineData("API_KEY")]
    [InlineData("api%5Fkey")]
    [InlineData("token")]
    [InlineData("X-Amz-Signature")]
    [InlineData("client_secret")]
    [InlineData("sig")]
    public void A_secret_query_parameter_keys_apart_by_value_and_from_none(string name)
    {
        string Key(string query) => CacheKey.Primary("GET", new Uri("https://api.example/x" + query), null, null, CacheSettings.Default);

        var first = Key($"?q=1&{name}=KEY-A");
        Assert.Equal(first, Key($"?{name}=KEY-A&q=1"));
        Assert.NotEqual(first, Key($"?q=1&{name}=KEY-B"));
        Assert.NotEqual(first, Key("?q=1"));
        var redacted = CacheKey.RedactUrl(new Uri($"https://api.example/x?q=1&{name}=KEY-A"), CacheSettings.Default);
        Assert.StartsWith("https://api.example/x?q=1&", redacted, StringComparison.Ordinal);
        Assert.EndsWith("=REDACTED", redacted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/json", "{\"user\":\"u\",\"password\":\"A\"}", "{\"password\":\"B\",\"user\":\"u\"}")]
    [InlineData("application/x-www-form-urlencoded", "user=u&password=A", "password=B&user=u")]
    [InlineData("application/x-www-form-urlencoded", "user=u&client_secret=A", "user=u")]
    public void A_secret_body_field_keys_apart(string contentType, string one, string other)
    {
        string Key(string body) => CacheKey.Primary("POST", new Uri("https://api.example/token"), Encoding.UTF8.GetBytes(body), contentType, CacheSettings.Default);

        Assert.NotEqual(Key(one), Key(other));
    }

    [Fact]
    public void Names_the_user_adds_are_secrets_too_and_the_defaults_stay()
    {
        var settings = CacheSettings.Default with { IgnoredParameters = new HashSet<string> { "session_id" } };

        Assert.Contains("session_id", settings.SecretNames);
        Assert.Contains("api_key", settings.SecretNames);
        Assert.Equal("https://a.example/?session_id=REDACTED&api_key=REDACTED", CacheKey.RedactUrl(new Uri("https://a.example/?session_id=1&api_key=2"), settings));
        Assert.NotEqual(
            CacheKey.Primary("GET", new Uri("https://a.example/?SESSION_ID=1"), null, null, settings),
            CacheKey.Primary("GET", new Uri("https://a.example/?SESSION_ID=2"), null, null, settings));
    }

    [Theory]
    [InlineData("X-API-Key")]
    [InlineData("X-Auth-Token")]
    [InlineData("Ocp-Apim-Subscription-Key")]
    [InlineData("X-Goog-Api-Key")]
    [InlineData("Authorization")]
    public async Task A_secret_header_never_lets_one_user_or_an_anonymous_request_have_another_users_answer(string header)
    {
        await using var cache = CacheHarness.Create();
        var path = MapCounter("header-secret");

        var a = await cache.GetAsync(origin.Url(path), null, $"{header}: KEY-A");
        var b = await cache.GetAsync(origin.Url(path), null, $"{header}: KEY-B");
        var anonymous = await cache.GetAsync(origin.Url(path));
        var aAgain = await cache.GetAsync(origin.Url(path), null, $"{header}: KEY-A");

        Assert.Equal(["1", "2", "3", "1"], new[] { a.Body, b.Body, anonymous.Body, aAgain.Body });
        Assert.True(aAgain.Info.FromCache);
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Fact]
    public async Task A_secret_query_parameter_never_lets_one_user_have_another_users_answer()
    {
        await using var cache = CacheHarness.Create();
        var path = MapCounter("query-secret");

        var a = await cache.GetAsync(origin.Url(path + "?api_key=KEY-A"));
        var b = await cache.GetAsync(origin.Url(path + "?api_key=KEY-B"));
        var anonymous = await cache.GetAsync(origin.Url(path));

        Assert.Equal(["1", "2", "3"], new[] { a.Body, b.Body, anonymous.Body });
        Assert.Equal("?api_key=KEY-B", origin.Requests(path)[1].Query);
    }

    [Fact]
    public async Task Stored_variants_carry_keyed_digests_never_the_secret()
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { KeySecret = SecretA });
        var path = MapCounter("digest-stored");

        await cache.GetAsync(origin.Url(path), null, "X-API-Key: KEY-A");
        var key = Assert.Single(await cache.EntriesAsync()).Key;
        var record = Assert.Single(await cache.Store.GetVariantsAsync(key.Split('.')[0], default));
        var stored = EntrySerializer.Deserialize(record, record.Metadata, record.Body);

        Assert.DoesNotContain("KEY-A", Encoding.UTF8.GetString(record.Metadata), StringComparison.Ordinal);
        var (name, value) = Assert.Single(stored.VaryValues);
        Assert.Equal("X-API-Key", name, ignoreCase: true);
        Assert.Equal(CacheKey.SecretDigest("KEY-A", SecretA), value);
    }

    // ---- the explicit way out ----

    [Fact]
    public async Task ExcludeFromKey_shares_one_entry_across_a_names_values_and_redacts_it()
    {
        var settings = CacheSettings.Default with { ExcludeFromKey = new HashSet<string> { "X-API-Key", "tracking" } };
        await using var cache = CacheHarness.Create(settings: settings);
        var path = MapCounter("excluded");

        await cache.GetAsync(origin.Url(path + "?tracking=1"), null, "X-API-Key: KEY-A");
        var other = await cache.GetAsync(origin.Url(path + "?tracking=2"), null, "X-API-Key: KEY-B");

        Assert.True(other.Info.FromCache);
        Assert.Equal("1", other.Body);
        Assert.EndsWith("?tracking=REDACTED", Assert.Single(await cache.EntriesAsync()).Uri, StringComparison.Ordinal);
    }

    // ---- the Host header ----

    [Fact]
    public void The_effective_host_is_part_of_the_key()
    {
        var uri = new Uri("http://127.0.0.1:8080/x");
        var byUrl = CacheKey.Primary("GET", uri, null, null, CacheSettings.Default);

        Assert.NotEqual(byUrl, CacheKey.Primary("GET", uri, null, null, CacheSettings.Default, "a.example"));
        Assert.NotEqual(
            CacheKey.Primary("GET", uri, null, null, CacheSettings.Default, "a.example"),
            CacheKey.Primary("GET", uri, null, null, CacheSettings.Default, "b.example"));
        Assert.Equal(byUrl, CacheKey.Primary("GET", uri, null, null, CacheSettings.Default, "127.0.0.1:8080"));
        Assert.Equal(
            CacheKey.Primary("GET", new Uri("http://a.example/x"), null, null, CacheSettings.Default),
            CacheKey.Primary("GET", new Uri("http://a.example/x"), null, null, CacheSettings.Default, "A.example:80"));
    }

    [Fact]
    public async Task Two_virtual_hosts_on_one_address_never_share_an_entry()
    {
        await using var cache = CacheHarness.Create();
        var path = MapCounter("vhost");

        var a = await cache.GetAsync(origin.Url(path), null, "Host: a.example");
        var b = await cache.GetAsync(origin.Url(path), null, "Host: b.example");
        var aAgain = await cache.GetAsync(origin.Url(path), null, "Host: a.example");

        Assert.Equal(["1", "2", "1"], new[] { a.Body, b.Body, aAgain.Body });
        Assert.Equal("b.example", origin.Requests(path)[1].Header("Host"));
    }

    // ---- Set-Cookie ----

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task A_shared_session_stores_an_answer_without_its_Set_Cookie_a_private_one_keeps_it(bool shared, bool kept)
    {
        await using var cache = CacheHarness.Create(settings: CacheSettings.Default with { Shared = shared });
        var path = MapCounter("set-cookie", ("Set-Cookie", "session=alice-only"));

        var miss = await cache.GetAsync(origin.Url(path));
        var hit = await cache.GetAsync(origin.Url(path));

        Assert.Equal("session=alice-only", miss.Header("Set-Cookie"));
        Assert.True(hit.Info.FromCache);
        Assert.Equal(kept, hit.Header("Set-Cookie") is not null);
        await cache.Session.FlushAsync(); // the write is queued behind the answer
        var record = Assert.Single(await cache.Store.GetVariantsAsync(hit.Info.CacheKey!, default));
        Assert.Equal(kept, Encoding.UTF8.GetString(record.Metadata).Contains("alice-only", StringComparison.Ordinal));
    }

    // ---- the key file ----

    [Fact]
    public void The_key_file_is_created_once_owner_only_and_read_back_alike()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "sub", KeySecrets.FileName);

        var first = KeySecrets.LoadOrCreate(path);
        var second = KeySecrets.LoadOrCreate(path);

        Assert.Equal(first, second);
        Assert.Equal(44, first.Length); // 32 random bytes, as base64 text
        Assert.Single(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(path)!)); // no temporary left
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        }
    }

    [Fact]
    public void An_existing_key_file_is_used_as_it_is_and_keeps_its_mode()
    {
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, KeySecrets.FileName);
        File.WriteAllText(path, "shared-team-secret\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }

        Assert.Equal(Encoding.UTF8.GetBytes("shared-team-secret"), KeySecrets.LoadOrCreate(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
        }
    }

    [Theory]
    [InlineData(false, false, "/x/config", "/x/config")]
    [InlineData(false, false, "relative", "/home/me/.config")]
    [InlineData(false, false, null, "/home/me/.config")]
    [InlineData(false, true, "/x/config", "/home/me/Library/Application Support")]
    public void The_key_file_lives_in_the_users_configuration_folder(bool windows, bool macOS, string? xdgConfigHome, string expected)
    {
        Assert.Equal(expected, KeySecrets.UserConfigFolder(windows, macOS, xdgConfigHome, "", "/home/me"));
        Assert.Equal(@"C:\Users\me\AppData\Local", KeySecrets.UserConfigFolder(true, false, null, @"C:\Users\me\AppData\Local", @"C:\Users\me"));
    }

    [Fact]
    public void Two_key_files_hold_different_secrets()
    {
        using var temp = new TempFolder();

        Assert.NotEqual(KeySecrets.LoadOrCreate(Path.Combine(temp.Path, "a")), KeySecrets.LoadOrCreate(Path.Combine(temp.Path, "b")));
    }

    [Fact]
    public void A_given_secret_wins_and_Redis_without_one_has_none()
    {
        var given = KeySecrets.Resolve(SecretA, CacheBackend.Redis, out var problem);

        Assert.Equal((SecretA, KeySecretSource.Given), given);
        Assert.Null(problem);
        Assert.Equal(KeySecretSource.None, KeySecrets.Resolve(null, CacheBackend.Redis, out _).Source);
        Assert.Equal(KeySecretSource.Process, KeySecrets.Resolve(null, CacheBackend.Memory, out _).Source);
    }

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("httpcache-key-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
