using System.Globalization;
using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 10, "Credentials and secrets", through the staged module's cmdlets on each backend: secrets in headers
/// and query strings key answers apart and are never stored in clear, -ExcludeFromKey is the one way to share
/// across them, the Host header is part of the key, a shared session never stores Set-Cookie, and the key
/// secret changes the keys of secrets only.
/// </summary>
internal static class CredentialScenarios
{
    private static string CounterPath(TestOrigin origin, string name, params (string Name, string Value)[] headers)
    {
        var path = origin.NewPath(name);
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Cache-Control"] = "max-age=600" };
        foreach (var (header, value) in headers)
        {
            all[header] = value;
        }

        origin.Map(path, OriginBehaviors.Counter(all));
        return path;
    }

    /// <summary>
    /// The report: "B asked with api_key=KEY-B and got …&amp;api_key=KEY-A". Users A and B and an anonymous
    /// request each get their own answer, by query parameter (any case or encoding of its name) and by header,
    /// and the store shows REDACTED where the secrets were.
    /// </summary>
    public static async Task SecretsNeverCrossUsers(TestOrigin origin, string newSession, params (string Name, object? Value)[] variables)
    {
        var query = CounterPath(origin, "api-key");
        var header = CounterPath(origin, "x-api-key");
        using var ps = PS.Open();
        var result = await ps.Ok(newSession + """

            function Body($uri, $headers = @{}) {
                $r = Invoke-CachedWebRequest -Uri $uri -Headers $headers -Session $s
                "$($r.Content)/$($r.FromCache)"
            }
            Body "$q`?api_key=KEY-A&x=1"
            Body "$q`?x=1&API_KEY=KEY-B"
            Body "$q`?x=1&api%5Fkey=KEY-C"
            Body "$q`?x=1"
            Body "$q`?api_key=KEY-A&x=1"
            Body $h @{ 'X-API-Key' = 'KEY-A' }
            Body $h @{ 'X-API-Key' = 'KEY-B' }
            Body $h
            Body $h @{ 'X-API-Key' = 'KEY-A' }
            @(Get-HttpCacheEntry -Session $s).Uri -join ' '
            $s.Dispose()
            """, [.. variables, ("q", origin.Url(query).AbsoluteUri), ("h", origin.Url(header).AbsoluteUri)]);

        Assert.Equal(
            ["1/False", "2/False", "3/False", "4/False", "1/True", "1/False", "2/False", "3/False", "1/True"],
            result.BaseOutput.Take(9).Select(o => (string)o));
        var uris = (string)result.BaseOutput[9];
        Assert.DoesNotContain("KEY-", uris, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(uris, "=REDACTED"));
        Assert.Equal(4, origin.RequestCount(query));
        Assert.Equal("?x=1&API_KEY=KEY-B", origin.Requests(query)[1].Query);
        Assert.Equal(3, origin.RequestCount(header));
    }

    /// <summary>-ExcludeFromKey: the explicit, separately named way to share one entry across a name's values.</summary>
    public static async Task ExcludeFromKeyShares(TestOrigin origin, string newSession, params (string Name, object? Value)[] variables)
    {
        var path = CounterPath(origin, "excluded");
        using var ps = PS.Open();
        var result = await ps.Ok(newSession.Replace("New-HttpCacheSession", "New-HttpCacheSession -ExcludeFromKey X-API-Key", StringComparison.Ordinal) + """

            $a = Invoke-CachedWebRequest -Uri $u -Headers @{ 'X-API-Key' = 'KEY-A' } -Session $s
            $b = Invoke-CachedWebRequest -Uri $u -Headers @{ 'X-API-Key' = 'KEY-B' } -Session $s
            "$($a.Content) $($b.Content) $($b.FromCache)"
            $s.ExcludeFromKey -join ','
            $s.Dispose()
            """, [.. variables, ("u", origin.Url(path).AbsoluteUri)]);

        Assert.Equal(["1 1 True", "X-API-Key"], result.BaseOutput);
    }

    /// <summary>A Host header override keys by the effective host: two virtual hosts on one address never mix.</summary>
    public static async Task VirtualHostsNeverMix(TestOrigin origin, string newSession, params (string Name, object? Value)[] variables)
    {
        var path = CounterPath(origin, "vhost");
        using var ps = PS.Open();
        var result = await ps.Ok(newSession + """

            foreach ($host_ in 'a.example', 'b.example', 'a.example') {
                $r = Invoke-CachedWebRequest -Uri $u -Headers @{ Host = $host_ } -Session $s
                "$($r.Content)/$($r.FromCache)"
            }
            $s.Dispose()
            """, [.. variables, ("u", origin.Url(path).AbsoluteUri)]);

        Assert.Equal(["1/False", "2/False", "1/True"], result.BaseOutput);
        Assert.Equal(["a.example", "b.example"], origin.Requests(path).Select(r => r.Header("Host")));
    }

    /// <summary>
    /// A shared session stores the answer without its Set-Cookie (the miss still hands it to the caller who
    /// asked); a private session keeps it. <paramref name="newSession"/> says -Shared or -Private.
    /// </summary>
    public static async Task SetCookieStaysWithTheUserWhoAsked(TestOrigin origin, string newSession, bool shared, params (string Name, object? Value)[] variables)
    {
        var path = CounterPath(origin, "set-cookie", ("Set-Cookie", "session=alice-only; Path=/"));
        using var ps = PS.Open();
        var result = await ps.Ok(newSession + """

            $miss = Invoke-CachedWebRequest -Uri $u -Session $s
            $hit = Invoke-CachedWebRequest -Uri $u -Session $s
            $s.Shared
            [bool]$miss.Headers['Set-Cookie']
            $hit.FromCache
            [bool]$hit.Headers['Set-Cookie']
            $s.Dispose()
            """, [.. variables, ("u", origin.Url(path).AbsoluteUri)]);

        Assert.Equal([shared, true, true, !shared], result.BaseOutput);
        Assert.Equal(1, origin.RequestCount(path));
    }

    /// <summary>
    /// Two sessions over one store with different -KeySecret values key secrets apart (each misses the other's
    /// entry); the same secret finds it; requests without secrets share entries whatever the secret.
    /// </summary>
    public static async Task TheKeySecretKeysSecretsOnly(TestOrigin origin, string newSession, params (string Name, object? Value)[] variables)
    {
        var secret = CounterPath(origin, "secret");
        var plain = CounterPath(origin, "plain");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            function Open($text) {
                $KeySecret = [System.Net.NetworkCredential]::new('', $text).SecurePassword
            """ + "\n" + newSession.Replace("New-HttpCacheSession", "New-HttpCacheSession -KeySecret $KeySecret", StringComparison.Ordinal) + """

                $s
            }
            $a = Open 'secret-one'
            $b = Open 'secret-two'
            $a2 = Open 'secret-one'
            $first = Invoke-CachedWebRequest -Uri "$x`?token=T" -Session $a
            # Listing entries waits for the session's queued writes: the others look after they landed.
            $null = Get-HttpCacheEntry -Session $a
            $other = Invoke-CachedWebRequest -Uri "$x`?token=T" -Session $b
            $same = Invoke-CachedWebRequest -Uri "$x`?token=T" -Session $a2
            $null = Invoke-CachedWebRequest -Uri $p -Session $a
            $null = Get-HttpCacheEntry -Session $a
            $plainOther = Invoke-CachedWebRequest -Uri $p -Session $b
            "$($first.CacheKey -ne $other.CacheKey) $($other.FromCache) $($same.FromCache) $($plainOther.FromCache)"
            $a.KeySecretSource
            $a.Dispose(); $b.Dispose(); $a2.Dispose()
            """, [.. variables, ("x", origin.Url(secret).AbsoluteUri), ("p", origin.Url(plain).AbsoluteUri)]);

        Assert.Equal(["True False True True", "Given"], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(secret));
        Assert.Equal(1, origin.RequestCount(plain));
    }

    /// <summary>No file under <paramref name="folder"/> holds <paramref name="secret"/> in clear.</summary>
    public static void NothingInClear(string folder, string secret)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(file);
            Assert.False(Encoding.UTF8.GetString(bytes).Contains(secret, StringComparison.Ordinal), $"{file} holds {secret} in clear.");
        }
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}

/// <summary>The scenarios on the local backends, in-process.</summary>
public sealed class CredentialKeyingTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private static (string, object?)[] Paths(TempDirectory temp) => [("db", temp.File("cache.sqlite")), ("fs", temp.File("fs"))];

    private static string NewSession(string backend, string mode = "") => backend switch
    {
        "Memory" => $"$s = New-HttpCacheSession -Backend Memory {mode}",
        "Sqlite" => $"$s = New-HttpCacheSession -Backend Sqlite -Path $db {mode}",
        _ => $"$s = New-HttpCacheSession -Backend FileSystem -Path $fs {mode}",
    };

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task SecretsNeverCrossUsersAndAreNotStoredInClear(string backend)
    {
        using var temp = new TempDirectory();
        await CredentialScenarios.SecretsNeverCrossUsers(origin, NewSession(backend), Paths(temp));
        CredentialScenarios.NothingInClear(temp.Path, "KEY-A");
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task ExcludeFromKeySharesAnEntryAcrossValues(string backend)
    {
        using var temp = new TempDirectory();
        await CredentialScenarios.ExcludeFromKeyShares(origin, NewSession(backend), Paths(temp));
    }

    [Theory]
    [InlineData("Memory")]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task TwoVirtualHostsNeverShareAnEntry(string backend)
    {
        using var temp = new TempDirectory();
        await CredentialScenarios.VirtualHostsNeverMix(origin, NewSession(backend), Paths(temp));
    }

    [Theory]
    [InlineData("Memory", true)]
    [InlineData("Memory", false)]
    [InlineData("Sqlite", true)]
    [InlineData("Sqlite", false)]
    [InlineData("FileSystem", true)]
    [InlineData("FileSystem", false)]
    public async Task ASharedSessionNeverStoresSetCookieAPrivateOneDoes(string backend, bool shared)
    {
        using var temp = new TempDirectory();
        await CredentialScenarios.SetCookieStaysWithTheUserWhoAsked(origin, NewSession(backend, shared ? "-Shared" : "-Private"), shared, Paths(temp));
        if (shared)
        {
            CredentialScenarios.NothingInClear(temp.Path, "alice-only");
        }
    }

    [Theory]
    [InlineData("Sqlite")]
    [InlineData("FileSystem")]
    public async Task ADifferentKeySecretGivesDifferentKeysToSecretsOnly(string backend)
    {
        using var temp = new TempDirectory();
        await CredentialScenarios.TheKeySecretKeysSecretsOnly(origin, NewSession(backend), Paths(temp));
    }

    [Fact]
    public async Task AnEmptyKeySecretIsAnInvalidOption()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend Memory -KeySecret ([System.Security.SecureString]::new())");

        Assert.Equal("InvalidSessionOption,HttpCache.Commands.NewHttpCacheSessionCommand", error.FullyQualifiedErrorId);
    }

    /// <summary>
    /// Out of process, with the user's configuration and cache folders in a temporary place: the first local
    /// session creates the key file readable by the user only (0600, in a 0700 folder it made), the next process
    /// reuses it, and entries keyed by secrets are found across processes. A session at its own -Path leaves the
    /// default cache folder alone.
    /// </summary>
    [Fact]
    public async Task TheUserKeyFileIsOwnerOnlyAndSharedByTheUsersProcesses()
    {
        var path = origin.NewPath("key-file");
        origin.Map(path, OriginBehaviors.Counter(new Dictionary<string, string> { ["Cache-Control"] = "max-age=600" }));
        using var temp = new TempDirectory();
        var environment = new Dictionary<string, string?>
        {
            ["XDG_CONFIG_HOME"] = temp.File("config"),
            ["XDG_CACHE_HOME"] = temp.File("cache"),
            ["HTTPCACHE_KEY_SECRET"] = null,
        };
        var script = $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Path '{{temp.File("cache.sqlite")}}'
            $r = Invoke-CachedWebRequest -Uri '{{origin.Url(path + "?access_token=TOKEN-1").AbsoluteUri}}' -Session $s
            "SOURCE=$($s.KeySecretSource)"
            "FROM-CACHE=$($r.FromCache)"
            $s.Dispose()
            """;

        var first = (await PwshProcess.RunCommandAsync(script, environment: environment)).AssertSuccess();
        var keyFile = Path.Combine(temp.File("config"), "HttpCache", "key-secret");
        var key = await File.ReadAllTextAsync(keyFile);
        var second = (await PwshProcess.RunCommandAsync(script, environment: environment)).AssertSuccess();

        Assert.Equal("UserKeyFile", first.Value("SOURCE"));
        Assert.Equal("False", first.Value("FROM-CACHE"));
        Assert.Equal("True", second.Value("FROM-CACHE"));
        Assert.Equal(key, await File.ReadAllTextAsync(keyFile));
        Assert.Equal(44, key.Trim().Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(keyFile)!));
        }

        CredentialScenarios.NothingInClear(temp.Path, "TOKEN-1");
        Assert.False(Directory.Exists(Path.Combine(temp.File("cache"), "HttpCache")));
        Assert.Equal(1, origin.RequestCount(path));
    }
}

/// <summary>The scenarios on one standalone Redis server; and the once-per-process warning of a session without a key secret.</summary>
[Collection(RedisStandaloneCollection.Name)]
public sealed class RedisCredentialKeyingTests(RedisStandaloneFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private (string Name, object? Value)[] Variables(string ns) => [("cfg", redis.Configuration), ("ns", ns)];

    private const string NewSession = "$s = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns -WarningAction SilentlyContinue";

    private static string NewNamespace() => "it-credentials-" + Guid.NewGuid().ToString("N");

    [Fact]
    public async Task SecretsNeverCrossUsersAndAreNotStoredInClear()
    {
        var ns = NewNamespace();
        try
        {
            await CredentialScenarios.SecretsNeverCrossUsers(origin, NewSession, Variables(ns));
            Assert.DoesNotContain(await redis.KeysAsync(ns), k => k.Contains("KEY-", StringComparison.Ordinal));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASharedSessionNeverStoresSetCookieAPrivateOneDoes(bool shared)
    {
        var ns = NewNamespace();
        try
        {
            await CredentialScenarios.SetCookieStaysWithTheUserWhoAsked(origin, (shared ? NewSession : NewSession + " -Private"), shared, Variables(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    [Fact]
    public async Task TwoVirtualHostsNeverShareAnEntry()
    {
        var ns = NewNamespace();
        try
        {
            await CredentialScenarios.VirtualHostsNeverMix(origin, NewSession, Variables(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    [Fact]
    public async Task ADifferentKeySecretGivesDifferentKeysToSecretsOnly()
    {
        var ns = NewNamespace();
        try
        {
            await CredentialScenarios.TheKeySecretKeysSecretsOnly(origin, NewSession, Variables(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    /// <summary>
    /// In a process of its own (the warning is once per process): two Redis sessions without a key secret warn
    /// once between them; one with -KeySecret or $env:HTTPCACHE_KEY_SECRET does not warn.
    /// </summary>
    [Theory]
    [InlineData("", null, 1)]
    [InlineData("-KeySecret ([System.Net.NetworkCredential]::new('', 'team-secret').SecurePassword)", null, 0)]
    [InlineData("", "team-secret", 0)]
    public async Task ASharedStoreWithoutAKeySecretWarnsOnce(string keySecret, string? environmentSecret, int warnings)
    {
        var ns = NewNamespace();
        try
        {
            var script = $$"""
                Import-Module $env:HTTPCACHE_MODULE_MANIFEST
                $a = New-HttpCacheSession -RedisConfiguration '{{redis.Configuration}}' -Namespace '{{ns}}' {{keySecret}} -WarningVariable w1
                $b = New-HttpCacheSession -RedisConfiguration '{{redis.Configuration}}' -Namespace '{{ns}}' {{keySecret}} -WarningVariable w2
                "WARNINGS=$(@(@($w1) + @($w2)).Where({ "$_" -like '*no key secret*' }).Count)"
                "SOURCE=$($b.KeySecretSource)"
                $a.Dispose(); $b.Dispose()
                """;
            var run = (await PwshProcess.RunCommandAsync(script, environment: new Dictionary<string, string?> { ["HTTPCACHE_KEY_SECRET"] = environmentSecret })).AssertSuccess();

            Assert.Equal(warnings.ToString(CultureInfo.InvariantCulture), run.Value("WARNINGS"));
            Assert.Equal(warnings == 1 ? "None" : environmentSecret is null ? "Given" : "Environment", run.Value("SOURCE"));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }
}

/// <summary>The scenarios on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterServersCollection.Name)]
public sealed class RedisClusterCredentialKeyingTests(RedisClusterServersFixture redis, OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    private const string NewSession = "$s = New-HttpCacheSession -RedisConfiguration $cfg -Namespace $ns -WarningAction SilentlyContinue";

    private (string Name, object? Value)[] Variables(string ns) => [("cfg", redis.Configuration), ("ns", ns)];

    [Fact]
    public async Task SecretsNeverCrossUsersAndAreNotStoredInClear()
    {
        var ns = "it-credentials-" + Guid.NewGuid().ToString("N");
        try
        {
            await CredentialScenarios.SecretsNeverCrossUsers(origin, NewSession, Variables(ns));
            Assert.DoesNotContain(await redis.KeysAsync(ns), k => k.Contains("KEY-", StringComparison.Ordinal));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    [Fact]
    public async Task ASharedSessionNeverStoresSetCookie()
    {
        var ns = "it-credentials-" + Guid.NewGuid().ToString("N");
        try
        {
            await CredentialScenarios.SetCookieStaysWithTheUserWhoAsked(origin, NewSession, shared: true, Variables(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }

    [Fact]
    public async Task ADifferentKeySecretGivesDifferentKeysToSecretsOnly()
    {
        var ns = "it-credentials-" + Guid.NewGuid().ToString("N");
        try
        {
            await CredentialScenarios.TheKeySecretKeysSecretsOnly(origin, NewSession, Variables(ns));
        }
        finally
        {
            await redis.DeleteNamespaceAsync(ns);
        }
    }
}
