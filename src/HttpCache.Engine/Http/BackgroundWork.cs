namespace HttpCache.Engine.Http;

/// <summary>
/// Work that can wait (the background writer's batches) gives way to a request's threads between its items. Linux's
/// scheduler lets a running thread finish its time slice before a woken thread of the same priority gets the core,
/// and a batch of queued writes (an SQLite transaction of a few dozen rows, a few dozen file creations) runs for about
/// a millisecond: a request whose answer arrived meanwhile waited that long on a machine with few cores. A yield
/// between entries hands the core over at once, and costs about a microsecond when nothing waits.
/// </summary>
internal static class BackgroundWork
{
    // Flows with the writer's awaits (a store may finish a batch on another thread), and only there.
    private static readonly AsyncLocal<Flow?> Current = new();

    /// <summary>Marks the calling flow (and what it awaits) as background work, for <see cref="GiveWay"/>.</summary>
    public static void Begin() => Current.Value = new Flow();

    /// <summary>Whether the calling flow is background work.</summary>
    public static bool InBackground => Current.Value is not null;

    /// <summary>How many times the calling flow gave way (tests).</summary>
    internal static long TimesGivenWay => Current.Value?.Yields ?? 0;

    /// <summary>In background work, lets any thread waiting for this core run first; elsewhere nothing.</summary>
    public static void GiveWay()
    {
        if (Current.Value is { } flow)
        {
            flow.Yields++;
            Thread.Yield();
        }
    }

    // One flow's own: its items run one after another, never at once.
    private sealed class Flow
    {
        public long Yields;
    }
}
