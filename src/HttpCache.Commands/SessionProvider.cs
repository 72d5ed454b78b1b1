using HttpCache.Engine;

namespace HttpCache.Commands;

/// <summary>
/// The shared default session (SQLite at the engine's default path, <c>CachePaths.DefaultSqlitePath</c>) that
/// every cmdlet uses when -Session is not given: created on first use, once per process, from any runspace.
/// When its file cannot be opened (a full disk, a read-only folder, a file that is not a cache, a folder at the
/// path), the session keeps to a memory store for the process, and the first command to use it warns once.
/// </summary>
internal static class SessionProvider
{
    private static readonly object Gate = new();
    private static CacheSession? s_default;
    private static string? s_fallbackWarning;

    /// <summary>The default session's name.</summary>
    public const string DefaultName = "default";

    /// <summary>The default session if it was created and is still open; never creates it (tab completion must not open stores).</summary>
    public static CacheSession? Existing => Volatile.Read(ref s_default) is { IsDisposed: false } existing ? existing : null;

    /// <summary>
    /// The warning for a default session that fell back to memory, once: the first caller gets it, later ones null.
    /// </summary>
    public static string? TakeFallbackWarning() => Interlocked.Exchange(ref s_fallbackWarning, null);

    /// <summary>The default session, created now if it does not exist yet; never fails for its store.</summary>
    public static CacheSession Default
    {
        get
        {
            var existing = Volatile.Read(ref s_default);
            if (existing is not null && !existing.IsDisposed)
            {
                return existing;
            }

            lock (Gate)
            {
                if (s_default is null || s_default.IsDisposed)
                {
                    var session = new CacheSession(HttpCacheSession.Create(new HttpCacheSessionOptions { Name = DefaultName, FallBackToMemory = true }), isDefault: true);
                    if (session.StoreFallback is { } why)
                    {
                        Volatile.Write(ref s_fallbackWarning, $"The default HTTP cache at '{Engine.Storage.CachePaths.DefaultSqlitePath}' cannot be used ({why}); this process caches in memory instead. Fix the file or folder, or give a session of your own with New-HttpCacheSession -Path.");
                    }

                    Volatile.Write(ref s_default, session);
                    SessionLifetime.Track(session);
                }

                return s_default;
            }
        }
    }
}

/// <summary>
/// Flushes the counters and hit counts of sessions still open when the process exits (the default
/// session, and those a script never disposed), so Get-HttpCacheStats in the next process sees them.
/// </summary>
internal static class SessionLifetime
{
    private static readonly object Gate = new();
    private static readonly List<WeakReference<CacheSession>> Sessions = [];
    private static bool s_hooked;

    public static void Track(CacheSession session)
    {
        lock (Gate)
        {
            Sessions.RemoveAll(reference => !reference.TryGetTarget(out var target) || target.IsDisposed);
            Sessions.Add(new WeakReference<CacheSession>(session));
            if (!s_hooked)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeAll();
                s_hooked = true;
            }
        }
    }

    /// <summary>The sessions of this process still open, in the order they were made (Get-HttpCacheSession).</summary>
    public static CacheSession[] Open()
    {
        lock (Gate)
        {
            return Sessions.Select(reference => reference.TryGetTarget(out var target) ? target : null)
                .OfType<CacheSession>()
                .Where(session => !session.IsDisposed)
                .ToArray();
        }
    }

    private static void DisposeAll()
    {
        CacheSession[] open;
        lock (Gate)
        {
            open = Sessions.Select(reference => reference.TryGetTarget(out var target) ? target : null).OfType<CacheSession>().ToArray();
            Sessions.Clear();
        }

        foreach (var session in open)
        {
            try
            {
                // Bounded by the engine (a five-second flush budget); a failure loses only the figures.
                session.Dispose();
            }
            catch (Exception)
            {
                // The process is exiting: nothing to report to.
            }
        }
    }
}
