/**
 * The last cells of a publish state row, shared by the catalog publish and the customers screens:
 * Shopify's error (code, field, message), when it was published, and a retry for a refused one.
 */
import { fmtTime } from "../ui.tsx";

export interface PublishError {
  readonly code?: string;
  readonly field?: string | null;
  readonly message?: string;
}

export function PublishStateCells(props: {
  /** The row's key (the retry button's accessible name). */
  name: string;
  error: PublishError | null;
  publishedAt: string | null;
  /** Refused, and the operator may retry it. */
  retry: boolean;
  busy?: boolean;
  onRetry: () => void;
}) {
  const { error } = props;
  return (
    <>
      <td>
        {error && (
          <span>
            <strong>{error.code}</strong>
            {error.field ? ` (${error.field})` : ""}: {error.message}
          </span>
        )}
      </td>
      <td>{fmtTime(props.publishedAt)}</td>
      <td>
        {props.retry && (
          <button
            type="button"
            class="secondary"
            disabled={props.busy}
            onClick={props.onRetry}
            aria-label={`Retry ${props.name}`}
          >
            Retry
          </button>
        )}
      </td>
    </>
  );
}
