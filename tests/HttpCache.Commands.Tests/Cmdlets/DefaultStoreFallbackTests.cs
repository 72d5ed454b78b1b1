using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// The default session (no -Path) whose file cannot be opened still answers every request: it warns once and
/// caches in memory for the process, and says so in Get-HttpCacheStats. An explicit -Path to the same place
/// still fails clearly at New-HttpCacheSession. Run out of process with the staged module, each with its own
/// XDG_CACHE_HOME so the default file is one the test damaged.
/// </summary>
public sealed class DefaultStoreFallbackTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Theory]
    [InlineData("a folder at the path")]
    [InlineData("a file that is not a database")]
    [InlineData("a foreign database")]
    public async Task The_default_session_warns_once_and_caches_in_memory_when_its_file_cannot_be_used(string damage)
    {
        using var temp = new TempDirectory();
        var file = Path.Combine(temp.File("xdg"), "HttpCache", "http_cache.sqlite");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        switch (damage)
        {
            case "a folder at the path":
                Directory.CreateDirectory(file);
                break;
            case "a file that is not a database":
                await File.WriteAllBytesAsync(file, Enumerable.Range(0, 8192).Select(i => (byte)(i * 31)).ToArray());
                break;
            default:
                ForeignDatabase(file);
                break;
        }

        var before = Snapshot(file);
        var run = await RunAsync(file, temp.File("xdg"));

        Assert.Equal("200 False True 1 0 Memory 1 1", run.Value("RESULT"));
        Assert.Contains("cannot be used", run.Value("WARNING"), StringComparison.Ordinal);
        Assert.Contains("http_cache.sqlite", run.Value("FALLBACK"), StringComparison.Ordinal);
        // An explicit -Path fails clearly; a folder given as -Path is a folder to keep http_cache.sqlite in, as documented.
        Assert.Equal(
            damage == "a folder at the path" ? "opened" : "CacheStoreUnavailable,HttpCache.Commands.NewHttpCacheSessionCommand",
            run.Value("EXPLICIT"));
        if (damage != "a folder at the path")
        {
            Assert.Equal(before, Snapshot(file));
        }
    }

    [Fact]
    public async Task The_default_session_falls_back_when_its_folder_cannot_be_written()
    {
        using var temp = new TempDirectory();
        var xdg = temp.File("xdg");
        using var unwritable = UnwritableFolder.Create(Path.Combine(xdg, "HttpCache"));
        var file = Path.Combine(unwritable.Path, "http_cache.sqlite");

        var run = await RunAsync(file, xdg);

        Assert.Equal("200 False True 1 0 Memory 1 1", run.Value("RESULT"));
        Assert.Contains(unwritable.Kind == "full" ? "full" : "readonly", run.Value("FALLBACK")?.ToLowerInvariant().Replace("-", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("CacheStoreUnavailable,HttpCache.Commands.NewHttpCacheSessionCommand", run.Value("EXPLICIT"));
    }

    private async Task<ProcessResult> RunAsync(string file, string xdg)
    {
        var path = origin.NewPath("fallback");
        origin.Map(path, OriginBehaviors.Counter());
        var url = origin.Url(path).AbsoluteUri;
        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $first = Invoke-CachedWebRequest -Uri '{{url}}' -WarningVariable w1 -WarningAction SilentlyContinue
            $second = Invoke-CachedWebRequest -Uri '{{url}}' -WarningVariable w2 -WarningAction SilentlyContinue
            $stats = Get-HttpCacheStats -WarningVariable w3 -WarningAction SilentlyContinue
            "RESULT=$($first.StatusCode) $($first.FromCache) $($second.FromCache) $($w1.Count) $($w2.Count + $w3.Count) $($stats.Backend) $($stats.Hits) $($stats.Misses)"
            "WARNING=$($w1[0])"
            "FALLBACK=$($stats.StoreFallback)"
            try { New-HttpCacheSession -Path '{{file}}' -ErrorAction Stop | Out-Null; 'EXPLICIT=opened' } catch { "EXPLICIT=$($_.FullyQualifiedErrorId)" }
            """,
            timeout: TimeSpan.FromSeconds(60),
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = xdg });
        run.AssertSuccess();
        Assert.Equal(1, origin.RequestCount(path));
        return run;
    }

    /// <summary>
    /// A database of another program: user_version 0 and a table of its own. Made with the sqlite3 shell
    /// (<c>PRAGMA page_size=512; CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text)
    /// VALUES ('mine');</c>) and kept gzipped here: this project keeps SQLite out of its own bin folder, so that the
    /// module is only ever loaded as it ships.
    /// </summary>
    private static void ForeignDatabase(string file)
    {
        const string Gzipped = "H4sIAEdHFGsC/wsO9MksSVVIyy/KTSxRMGZgYmBkZHBQUGBgADIhGAYYgZgFjU8IMDHoJTPyghQzbmIAolFAMfBhZBMXF2esLElMyknNyy9JLQYTTM5Bro4hrgohjk4+rgpgIQWNzBQFT78QV3fXIIWAIE9fx6BIBW/XSB2FktSKEoUQ14gQTUjcfGcAolEwcgA7IzODaG5mXioA/7picwAEAAA=";
        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(Convert.FromBase64String(Gzipped)), System.IO.Compression.CompressionMode.Decompress);
        using var output = File.Create(file);
        gzip.CopyTo(output);
    }

    private static string Snapshot(string path) =>
        Directory.Exists(path)
            ? "folder:" + string.Join(",", Directory.EnumerateFileSystemEntries(path))
            : Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))) + ":" + string.Join(",", Directory.EnumerateFiles(Path.GetDirectoryName(path)!).Select(Path.GetFileName).Order());
}

/// <summary>
/// A folder nothing can be written to, for real: a full tmpfs when the tests run as root on Linux (root ignores
/// permission bits), else a folder whose mode is read-only.
/// </summary>
internal sealed class UnwritableFolder : IDisposable
{
    private readonly TmpfsMount? _mount;

    private UnwritableFolder(string path, TmpfsMount? mount)
    {
        Path = path;
        _mount = mount;
    }

    public string Path { get; }

    /// <summary>"full" (a full file system) or "read-only".</summary>
    public string Kind => _mount is null ? "read-only" : "full";

    public static UnwritableFolder Create(string path)
    {
        Directory.CreateDirectory(path);
        if (TmpfsMount.Possible)
        {
            var mount = TmpfsMount.Create(path, "64k");
            try
            {
                // Fill it: every block taken, so even a new file's first page cannot be written.
                using var filler = new FileStream(System.IO.Path.Combine(path, "filler"), FileMode.CreateNew);
                var block = new byte[4096];
                try
                {
                    while (true)
                    {
                        filler.Write(block);
                        filler.Flush();
                    }
                }
                catch (IOException)
                {
                    // Full.
                }
            }
            catch
            {
                mount.Dispose();
                throw;
            }

            return new UnwritableFolder(path, mount);
        }

        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("A read-only folder for this test is made with Unix modes.");
        }

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        return new UnwritableFolder(path, null);
    }

    public void Dispose()
    {
        if (_mount is not null)
        {
            _mount.Dispose();
        }
        else if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
