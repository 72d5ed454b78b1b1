using Microsoft.AspNetCore.Http;

namespace HttpCache.Testing;

/// <summary>
/// A barrier in the origin: each request through <see cref="Hold"/> waits until the test lets it through, all at
/// once with <see cref="Release"/> or the longest-waiting one with <see cref="ReleaseOne"/> (or the client gives up). Tests use it to prove order instead of hoping for it with slow
/// answers: wait until N requests are held (<see cref="WhenHeldAsync"/>) and they certainly overlap; see the
/// client's abort arrive (<see cref="WhenAbortedAsync"/>) and it certainly reached the origin.
/// </summary>
public sealed class OriginGate
{
    private readonly object _sync = new();
    private readonly LinkedList<TaskCompletionSource> _queue = new();
    private bool _open;
    private readonly List<(Func<bool> Done, TaskCompletionSource Signal)> _waiters = [];
    private int _held;
    private int _arrived;
    private int _aborted;
    private int _mostHeld;

    /// <summary>Requests that reached the gate.</summary>
    public int Arrived
    {
        get
        {
            lock (_sync)
            {
                return _arrived;
            }
        }
    }

    /// <summary>Requests waiting at the gate now.</summary>
    public int Held
    {
        get
        {
            lock (_sync)
            {
                return _held;
            }
        }
    }

    /// <summary>The most requests that waited at the gate at one time: how many truly overlapped.</summary>
    public int MostHeld
    {
        get
        {
            lock (_sync)
            {
                return _mostHeld;
            }
        }
    }

    /// <summary>Requests the client aborted while they waited at the gate (Kestrel's RequestAborted fired).</summary>
    public int Aborted
    {
        get
        {
            lock (_sync)
            {
                return _aborted;
            }
        }
    }

    /// <summary>Holds each request until <see cref="Release"/>, then answers it with <paramref name="then"/>.</summary>
    public RequestDelegate Hold(RequestDelegate then) => async context =>
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource>? node;
        lock (_sync)
        {
            node = _open ? null : _queue.AddLast(turn);
            Change(held: node is null ? 0 : +1, arrived: +1);
        }

        try
        {
            if (node is not null)
            {
                await turn.Task.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            lock (_sync)
            {
                if (node!.List is not null)
                {
                    _queue.Remove(node);
                }

                Change(held: -1, aborted: +1);
            }

            return;
        }

        if (node is not null)
        {
            lock (_sync)
            {
                Change(held: -1);
            }
        }

        await then(context).ConfigureAwait(false);
    };

    /// <summary>Lets every held request, and every later one, through.</summary>
    public void Release()
    {
        lock (_sync)
        {
            _open = true;
            while (_queue.First is { } first)
            {
                _queue.RemoveFirst();
                first.Value.TrySetResult();
            }
        }
    }

    /// <summary>Lets the longest-waiting held request through (none when nothing waits).</summary>
    public void ReleaseOne()
    {
        lock (_sync)
        {
            if (_queue.First is { } first)
            {
                _queue.RemoveFirst();
                first.Value.TrySetResult();
            }
        }
    }

    /// <summary>Completes once <paramref name="count"/> requests wait at the gate at the same time.</summary>
    public Task WhenHeldAsync(int count) => When(() => _held >= count);

    /// <summary>Completes once <paramref name="count"/> requests have reached the gate in all.</summary>
    public Task WhenArrivedAsync(int count) => When(() => _arrived >= count);

    /// <summary>Completes once <paramref name="count"/> held requests were aborted by their client.</summary>
    public Task WhenAbortedAsync(int count = 1) => When(() => _aborted >= count);

    private Task When(Func<bool> done)
    {
        lock (_sync)
        {
            if (done())
            {
                return Task.CompletedTask;
            }

            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((done, signal));
            return signal.Task;
        }
    }

    // Under the lock.
    private void Change(int held = 0, int arrived = 0, int aborted = 0)
    {
        _held += held;
        _arrived += arrived;
        _aborted += aborted;
        _mostHeld = Math.Max(_mostHeld, _held);
        foreach (var waiter in _waiters.Where(w => w.Done()).ToList())
        {
            _waiters.Remove(waiter);
            waiter.Signal.TrySetResult();
        }
    }
}
