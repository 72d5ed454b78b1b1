namespace HttpCache.Engine.Storage;

/// <summary>Where the SQLite cache lives by default, and how a user-given cache path becomes a file path.</summary>
public static class CachePaths
{
    /// <summary>The file name used when a path names a folder rather than a file.</summary>
    public const string DefaultFileName = "http_cache.sqlite";

    /// <summary>
    /// <c>HttpCache/http_cache.sqlite</c> under the user's cache folder: <c>$XDG_CACHE_HOME</c> (when set and
    /// absolute) or <c>~/.cache</c> on Linux, <c>~/Library/Caches</c> on macOS, <c>%LOCALAPPDATA%</c> on Windows.
    /// </summary>
    public static string DefaultSqlitePath { get; } = Path.Combine(
        UserCacheFolder(
            OperatingSystem.IsWindows(),
            OperatingSystem.IsMacOS(),
            Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
            Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData),
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)),
        "HttpCache",
        DefaultFileName);

    /// <summary>
    /// Turns a user-given cache path into the full path of the database file, as requests-cache does:
    /// null or empty gives <see cref="DefaultSqlitePath"/>; a relative path is taken from the process's current
    /// directory (a PowerShell caller resolves it against its own location first); a folder (an existing
    /// one, or a path ending in a separator) gets <see cref="DefaultFileName"/> inside it; a file name without
    /// an extension gets <c>.sqlite</c>.
    /// </summary>
    public static string ResolveSqlitePath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return DefaultSqlitePath;
        }

        var fullPath = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(path) || Directory.Exists(fullPath))
        {
            return Path.Combine(fullPath, DefaultFileName);
        }

        return Path.HasExtension(fullPath) ? fullPath : fullPath + ".sqlite";
    }

    /// <summary>The platform's per-user cache folder, from the values the platform provides.</summary>
    internal static string UserCacheFolder(bool isWindows, bool isMacOS, string? xdgCacheHome, string localAppData, string home)
    {
        // Without a home (a service account, a bare container) the temp folder still gives a writable place.
        if (string.IsNullOrEmpty(home))
        {
            home = Path.GetTempPath();
        }

        if (isWindows)
        {
            return string.IsNullOrEmpty(localAppData) ? Path.Combine(home, "AppData", "Local") : localAppData;
        }

        if (isMacOS)
        {
            return Path.Combine(home, "Library", "Caches");
        }

        // The XDG spec says a relative value is invalid and must be ignored.
        return !string.IsNullOrEmpty(xdgCacheHome) && Path.IsPathFullyQualified(xdgCacheHome)
            ? xdgCacheHome
            : Path.Combine(home, ".cache");
    }
}
