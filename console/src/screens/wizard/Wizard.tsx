/**
 * Onboarding, one step at a time: connect → locations → linking → dry run → mode → flows →
 * personal data → done. The step on arrival is derived from the store's state; any step already
 * reached can be revisited from the step list.
 */
import { useEffect, useState } from "preact/hooks";
import type { ApiError } from "../../api.ts";
import { href, navigate } from "../../router.ts";
import { useSession } from "../../session.tsx";
import { asApiError, ErrorBox, Loading } from "../../ui.tsx";
import { ConnectStep } from "./ConnectStep.tsx";
import { DoneStep, FlowsStep, ModeStep, RetentionStep } from "./LaterSteps.tsx";
import { DryRunStep, LinkStep, LocationsStep } from "./StoreSteps.tsx";
import { loadStoreState, STEPS, type StepId, type StoreState, setupStep } from "./steps.ts";

export function Wizard({ domain }: { domain: string | null }) {
  const { can } = useSession();
  const [state, setState] = useState<StoreState | null>(null);
  const [step, setStep] = useState<StepId>(domain ? "locations" : "connect");
  const [reached, setReached] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);

  const refresh = async () => {
    if (!domain) return null;
    try {
      const s = await loadStoreState(domain);
      setState(s);
      return s;
    } catch (e) {
      setError(asApiError(e));
      return null;
    }
  };

  useEffect(() => {
    setState(null);
    setError(null);
    if (!domain) {
      setStep("connect");
      setReached(0);
      return;
    }
    void refresh().then((s) => {
      if (!s) return;
      const at = setupStep(s);
      setStep(at);
      setReached(STEPS.findIndex((x) => x.id === at));
    });
  }, [domain]);

  const go = (to: StepId) => {
    setStep(to);
    setReached((r) =>
      Math.max(
        r,
        STEPS.findIndex((x) => x.id === to),
      ),
    );
    void refresh();
    requestAnimationFrame(() => document.querySelector<HTMLElement>("#wizard-step h2")?.focus());
  };

  if (!can("store.operate"))
    return (
      <>
        <h1>Set up a store</h1>
        <p>
          Your role ({useSession().session.role}) can look at stores but not set them up. Ask an operator.
        </p>
      </>
    );
  const index = STEPS.findIndex((x) => x.id === step);
  return (
    <>
      <h1>{domain ? `Set up ${domain}` : "Connect a store"}</h1>
      <nav aria-label="Setup steps" class="steps">
        <ol>
          {STEPS.map((s, i) => (
            <li key={s.id} class={i === index ? "current" : i < index ? "past" : ""}>
              {i <= reached && i !== index && domain && s.id !== "connect" ? (
                <button type="button" class="link" onClick={() => go(s.id)}>
                  {i + 1}. {s.label}
                </button>
              ) : (
                <span aria-current={i === index ? "step" : undefined}>
                  {i + 1}. {s.label}
                </span>
              )}
            </li>
          ))}
        </ol>
      </nav>
      <ErrorBox error={error} />
      <section id="wizard-step" class="panel" aria-live="off">
        {step === "connect" ? (
          <ConnectStep
            onConnected={(d) => navigate(`/stores/${encodeURIComponent(d)}/setup`)}
            existing={state?.store ?? null}
          />
        ) : !state || !domain ? (
          <Loading what="the store" />
        ) : step === "locations" ? (
          <LocationsStep state={state} onDone={() => go("link")} />
        ) : step === "link" ? (
          <LinkStep domain={domain} onDone={() => go("dry-run")} onBack={() => go("locations")} />
        ) : step === "dry-run" ? (
          <DryRunStep domain={domain} onDone={() => go("mode")} onBack={() => go("link")} />
        ) : step === "mode" ? (
          <ModeStep state={state} onDone={() => go("flows")} onBack={() => go("dry-run")} />
        ) : step === "flows" ? (
          <FlowsStep state={state} onDone={() => go("personal-data")} onBack={() => go("mode")} />
        ) : step === "personal-data" ? (
          <RetentionStep domain={domain} onDone={() => go("done")} onBack={() => go("flows")} />
        ) : (
          <DoneStep domain={domain} />
        )}
      </section>
      {domain && step !== "done" && (
        <p class="muted">
          You can leave at any time: the setup continues from here next time (
          <a href={href(`/stores/${encodeURIComponent(domain)}`)}>store page</a>).
        </p>
      )}
    </>
  );
}
