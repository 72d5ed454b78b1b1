using HttpCache.Engine;

namespace HttpCache.Commands;

/// <summary>
/// The shared default session (SQLite at the engine's default path, <c>CachePaths.DefaultSqlitePath</c>) that
/// every cmdlet uses when -Session is not given: created on first use, once per process, from any runspace.
/// A failure to create it is not remembered, so the next command tries again (the folder may be fixed).
/// </summary>
internal static class SessionProvider
{
    private static readonly object Gate = new();
    private static CacheSession? s_default;

    /// <summary>The default session's name.</summary>
    public const string DefaultName = "default";

    /// <summary>The default session if it was created and is still open; never creates it (tab completion must not open stores).</summary>
    public static CacheSession? Existing => Volatile.Read(ref s_default) is { IsDisposed: false } existing ? existing : null;

    /// <summary>The default session, created now if it does not exist yet.</summary>
    /// <exception cref="Engine.Storage.CacheStoreException">The default store cannot be opened.</exception>
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
                    var session = new CacheSession(HttpCacheSession.Create(new HttpCacheSessionOptions { Name = DefaultName }), isDefault: true);
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
