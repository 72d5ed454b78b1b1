using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Tests.Storage;

public sealed class CachePathsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", Guid.NewGuid().ToString("N"));

    public CachePathsTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_default_is_an_absolute_file_in_an_HttpCache_folder()
    {
        var path = CachePaths.DefaultSqlitePath;

        Assert.True(Path.IsPathFullyQualified(path));
        Assert.Equal("http_cache.sqlite", Path.GetFileName(path));
        Assert.Equal("HttpCache", Path.GetFileName(Path.GetDirectoryName(path)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_path_means_the_default(string? path) =>
        Assert.Equal(CachePaths.DefaultSqlitePath, CachePaths.ResolveSqlitePath(path));

    [Fact]
    public void A_relative_path_is_taken_from_the_current_directory()
    {
        Assert.Equal(
            Path.Combine(Environment.CurrentDirectory, "caches", "mine.db"),
            CachePaths.ResolveSqlitePath(Path.Combine("caches", "mine.db")));
    }

    [Fact]
    public void An_existing_folder_gets_the_default_file_name()
    {
        Assert.Equal(Path.Combine(_folder, "http_cache.sqlite"), CachePaths.ResolveSqlitePath(_folder));
    }

    [Fact]
    public void A_path_ending_in_a_separator_is_a_folder_even_when_missing()
    {
        var folder = Path.Combine(_folder, "not-yet") + Path.DirectorySeparatorChar;

        Assert.Equal(Path.Combine(_folder, "not-yet", "http_cache.sqlite"), CachePaths.ResolveSqlitePath(folder));
    }

    [Fact]
    public void A_file_name_without_extension_gets_sqlite_and_one_with_an_extension_is_kept()
    {
        Assert.Equal(Path.Combine(_folder, "demo.sqlite"), CachePaths.ResolveSqlitePath(Path.Combine(_folder, "demo")));
        Assert.Equal(Path.Combine(_folder, "demo.db"), CachePaths.ResolveSqlitePath(Path.Combine(_folder, "demo.db")));
    }

    [Fact]
    public void Linux_uses_an_absolute_XDG_CACHE_HOME_else_the_home_cache_folder()
    {
        Assert.Equal("/xdg/cache", CachePaths.UserCacheFolder(false, false, "/xdg/cache", "", "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".cache"), CachePaths.UserCacheFolder(false, false, "relative/cache", "", "/home/u"));
        Assert.Equal(Path.Combine("/home/u", ".cache"), CachePaths.UserCacheFolder(false, false, null, "", "/home/u"));
    }

    [Fact]
    public void MacOS_uses_Library_Caches()
    {
        Assert.Equal(Path.Combine("/Users/u", "Library", "Caches"), CachePaths.UserCacheFolder(false, true, "/xdg/cache", "", "/Users/u"));
    }

    [Fact]
    public void Windows_uses_LOCALAPPDATA()
    {
        Assert.Equal(@"C:\Users\u\AppData\Local", CachePaths.UserCacheFolder(true, false, null, @"C:\Users\u\AppData\Local", @"C:\Users\u"));
    }
}
