import { describe, expect, test } from "vitest";
import { ApiError } from "./client";
import { api } from "./endpoints";
import { installFakeApi } from "../test/fakeApi";

describe("API client", () => {
  test("sends the session's bearer token and typed query parameters", async () => {
    const { calls } = installFakeApi();
    sessionStorage.setItem("cxw.token", "eng-token");
    const page = await api.incidents({ status: "open", severity: "medium", limit: 50 });
    expect(page.count).toBe(1);
    expect(page.data[0].id).toBe(7);
    expect(calls[0].auth).toBe("Bearer eng-token");
    expect(calls[0].path).toBe("/api/incidents");
    expect(Object.fromEntries(calls[0].query)).toEqual({ status: "open", severity: "medium", limit: "50" });
  });

  test("asks for a slice's series with & = % inside its values escaped, URL-encoded once", async () => {
    const { calls, fetchMock } = installFakeApi();
    sessionStorage.setItem("cxw.token", "pm-token");
    await api.series(1, "on_time_rate", "region=north&east&store=50%", ["region", "store"]);
    expect(calls[0].query.get("slice")).toBe("region=north%26east&store=50%25");
    const [input] = fetchMock.mock.calls[0];
    expect(input instanceof Request ? input.url : String(input)).toContain("slice=region%3Dnorth%2526east%26store%3D50%2525");
    await api.series(1, "on_time_rate", "*", []);
    expect(calls[1].query.get("slice")).toBe("*");
  });

  test("checks a token given explicitly (sign-in) before it is stored", async () => {
    const { calls } = installFakeApi();
    const me = await api.me("pm-token");
    expect(me.role).toBe("pm");
    expect(calls[0].auth).toBe("Bearer pm-token");
  });

  test("turns 401 and 403 into ApiErrors with the API's detail", async () => {
    installFakeApi();
    await expect(api.workspaces()).rejects.toMatchObject({ status: 401, message: "missing bearer token" });
    sessionStorage.setItem("cxw.token", "pm-token");
    const err = await api.setStatus(7, "resolved").catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(403);
    expect(err.message).toContain("engineer");
  });

  test("writes send JSON bodies to the right routes", async () => {
    const { calls } = installFakeApi();
    sessionStorage.setItem("cxw.token", "eng-token");
    await api.addFeedback(7, { label: "confirmed" });
    await api.decideAction(1, "approve", "ok");
    await api.proposeAction(7, { recommendation: 0 });
    await api.incidentSlices(7, "region=north&east", ["region", "store"]);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "POST /api/incidents/7/feedback",
      "POST /api/actions/1/approve",
      "POST /api/incidents/7/actions",
      "GET /api/incidents/7/slices",
    ]);
    expect(calls[3].query.get("parent")).toBe("region=north%26east"); // escaped as for the series
    expect(calls[0].body).toEqual({ label: "confirmed", comment: "" });
    expect(calls[1].body).toEqual({ comment: "ok" });
    expect(calls[2].body).toEqual({ description: "", recommendation: 0 });
  });

  test("the plan PDF route matches the backend's", () => {
    expect(api.planPdfPath(7)).toBe("/api/incidents/7/plan/pdf");
  });
});
