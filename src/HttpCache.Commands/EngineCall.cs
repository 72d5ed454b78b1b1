using System.Management.Automation;

namespace HttpCache.Commands;

/// <summary>
/// The cmdlet edge: every engine call blocks here, and only here, on its task, with a token that the
/// cmdlet's StopProcessing cancels (conventions 11). Each cmdlet owns one and disposes it.
/// </summary>
internal sealed class EngineCall : IDisposable
{
    private readonly CancellationTokenSource stopping = new();

    /// <summary>Cancelled by <see cref="Stop"/> (Ctrl+C, a downstream Select-Object -First…).</summary>
    public CancellationToken Token => stopping.Token;

    /// <summary>True once the pipeline is stopping.</summary>
    public bool IsStopping => stopping.IsCancellationRequested;

    /// <summary>Called from the cmdlet's StopProcessing, on another thread.</summary>
    public void Stop()
    {
        try
        {
            stopping.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The command finished while the stop arrived.
        }
    }

    /// <summary>Runs an engine call to completion; a stop becomes PowerShell's own PipelineStoppedException.</summary>
    public T Run<T>(Func<CancellationToken, Task<T>> call) => Run(call, Token);

    /// <summary>Runs an engine call with a token of the caller's (linked to this one).</summary>
    public T Run<T>(Func<CancellationToken, Task<T>> call, CancellationToken token)
    {
        try
        {
            return call(token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (IsStopping)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Runs an engine call that returns nothing.</summary>
    public void Run(Func<CancellationToken, Task> call) => Run<bool>(async token =>
    {
        await call(token).ConfigureAwait(false);
        return true;
    });

    /// <summary>Reads an async sequence at the edge, one item at a time, so output streams as it comes.</summary>
    public IEnumerable<T> Enumerate<T>(Func<CancellationToken, IAsyncEnumerable<T>> sequence)
    {
        var enumerator = sequence(Token).GetAsyncEnumerator(Token);
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult();
                }
                catch (OperationCanceledException) when (IsStopping)
                {
                    throw new PipelineStoppedException();
                }

                if (!more)
                {
                    yield break;
                }

                yield return enumerator.Current;
            }
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <inheritdoc />
    public void Dispose() => stopping.Dispose();
}
